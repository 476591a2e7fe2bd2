package actors

import "sort"

func sortServices(s []*ServiceClient) {
	sort.Slice(s, func(i, j int) bool { return s[i].name < s[j].name })
}
