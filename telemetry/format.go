package telemetry

import (
	"fmt"
	"sort"
	"strings"
)

func formatEvent(e Event) string {
	var sb strings.Builder
	sb.WriteString(e.Name)
	for _, k := range sortedKeys(e.Measurements) {
		fmt.Fprintf(&sb, " %s=%g", k, e.Measurements[k])
	}
	for _, k := range sortedKeys(e.Metadata) {
		fmt.Fprintf(&sb, " %s=%v", k, e.Metadata[k])
	}
	return sb.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
