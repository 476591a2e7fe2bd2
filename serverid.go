package tinkex

import (
	"unicode"
	"unicode/utf8"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/types"
)

// maxServerIDLen bounds an id the server chose. Real ids are UUIDs or
// "<session>:train:<n>"; anything near this long is not an id.
const maxServerIDLen = 512

// checkServerID checks an id the server chose (a session, model, sampling
// session or future id) where it enters the process. Such an id goes into
// every later request, error, event, log line and actor name of the client,
// so it is refused here, with a KindValidation error that does not quote it,
// when it carries one of the client's credentials or anything shaped like
// one (h.Scrub would change it), is longer than maxServerIDLen bytes, is not
// UTF-8, or holds whitespace or control characters. An empty id passes: the
// callers already say what a missing id means for their call.
func checkServerID(h *httpclient.Client, op, field, id string) error {
	if id == "" {
		return nil
	}
	why := ""
	switch {
	case len(id) > maxServerIDLen:
		why = "is longer than 512 bytes"
	case !utf8.ValidString(id):
		why = "is not valid UTF-8"
	case h.Scrub(id) != id:
		why = "contains a credential"
	default:
		for _, r := range id {
			if unicode.IsSpace(r) || !unicode.IsPrint(r) {
				why = "contains whitespace or control characters"
				break
			}
		}
	}
	if why == "" {
		return nil
	}
	return types.ValidationError(op, "server answered a %s that %s (%d bytes, not shown); refused", field, why, len(id))
}
