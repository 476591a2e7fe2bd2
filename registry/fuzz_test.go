package registry_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tinkex-go/tinkex/registry"
)

// FuzzNewKey checks that NewKey never panics, that a normalized URL is a
// fixed point (normalizing it again gives the same config), and that no
// printed form of a Key or its error carries the API key.
func FuzzNewKey(f *testing.F) {
	for _, s := range []string{
		"https://tinker.example", "https://TINKER.example:443/api/", "http://h:80", "http://[::1]:8080/x//",
		"https://user:pw@h", "ftp://h", "https://h?q=1", "", " https://h ", "https://h/%2F/", "http://[FE80::1%25Eth0]:8080/",
	} {
		f.Add(s)
	}
	const apiKey = "tml-fuzz-secret-0123456789"
	f.Fuzz(func(t *testing.T, raw string) {
		k, err := registry.NewKey(raw, apiKey)
		if err != nil {
			if strings.Contains(err.Error(), apiKey) {
				t.Fatalf("error leaks the key: %v", err)
			}
			return
		}
		again, err := registry.NewKey(k.BaseURL(), apiKey)
		if err != nil {
			t.Fatalf("normalized URL %q rejected: %v", k.BaseURL(), err)
		}
		if again != k {
			t.Fatalf("not a fixed point: %q -> %q", k.BaseURL(), again.BaseURL())
		}
		for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v %#v %x %d", k, k, k, k)} {
			if strings.Contains(s, apiKey) {
				t.Fatalf("printed key: %s", s)
			}
		}
	})
}
