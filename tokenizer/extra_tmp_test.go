package tokenizer

import (
	"bufio"
	"encoding/json"
	"slices"
	"testing"
)

func TestExtraTmp(t *testing.T) {
	for _, name := range families {
		tok := family(t, name)
		sc := bufio.NewScanner(bytesReader(readGz(t, "/tmp/extra-"+name+".jsonl.gz")))
		sc.Buffer(nil, 1<<24)
		n, bad := 0, 0
		for sc.Scan() {
			var c goldenCase
			json.Unmarshal(sc.Bytes(), &c)
			n++
			if got := tok.Encode(*c.Text); !slices.Equal(got, c.IDs) {
				bad++
				if bad < 4 {
					t.Errorf("%s %q\n got %v\nwant %v", name, *c.Text, got, c.IDs)
				}
			}
		}
		t.Logf("%s: %d cases, %d differ", name, n, bad)
	}
}
