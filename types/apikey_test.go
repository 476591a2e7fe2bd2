package types

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A key net/http would refuse to send as a header (control characters,
// white space, bytes outside printable ASCII) is refused at construction,
// with its position and never its text.
func TestValidateAPIKeyRefusesUnsendableBytes(t *testing.T) {
	const secret = "tml-secretvalue"
	for _, k := range []string{secret + "\x00", secret + "\x7f", secret + "\x1b[0m", "tml-sécretvalue",
		secret + "\n", "tml-secret\tvalue", secret + " ", "eyJsecret\rvalue"} {
		err := ValidateAPIKey(k)
		if !assert.ErrorIs(t, err, ErrValidation, "%q", k) {
			continue
		}
		assert.NotContains(t, err.Error(), "secret", "%q", k)
		assert.Regexp(t, `at byte \d+ of \d+`, err.Error())
	}
	assert.NoError(t, ValidateAPIKey("tml-"+"!#$%&'()*+,-./:;<=>?@[]^_`{|}~"), "printable ASCII is accepted")
}
