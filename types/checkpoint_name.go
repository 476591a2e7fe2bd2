package types

import "regexp"

// checkpointName is the form of a checkpoint name: 1 to 128 characters,
// letters, digits, '.', '_' and '-', starting with a letter or digit. It is
// the rule tinkertest applies as the server's; the name becomes a path
// segment of tinker://<model_id>/weights/<name>, so '/', NUL and other
// control characters, white space and ".." can never be part of it.
var checkpointName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidateCheckpointName returns a KindValidation error for op when name is
// not a valid checkpoint name (see above); the error quotes the name with
// its control characters escaped.
func ValidateCheckpointName(op, name string) error {
	if name == "" {
		return ValidationError(op, "a checkpoint name is required")
	}
	if !checkpointName.MatchString(name) {
		shown := name
		if len(shown) > 140 {
			shown = shown[:140] + "…"
		}
		return ValidationError(op, "checkpoint name %q is not valid: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit (no '/', white space or control characters)", shown)
	}
	return nil
}
