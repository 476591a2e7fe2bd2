package httpclient

import "github.com/tinkex-go/tinkex/types"

// secrets are the credentials of this client that must never leave the
// process in text: the API key and, once exchanged, the JWT sent instead.
func (c *Client) secrets() []string {
	if cred := (*c.credential.Load())[0]; cred != c.apiKey {
		return []string{c.apiKey, cred}
	}
	return []string{c.apiKey}
}

// redactURL is types.RedactURL with this client's credentials.
func (c *Client) redactURL(s string) string { return types.RedactURL(s, c.secrets()...) }
