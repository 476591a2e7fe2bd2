package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Progress past the total (a host that sends more than it announced) or
// below zero draws a full or empty bar; it does not panic the CLI.
func TestProgressBarStaysInsideItsEnds(t *testing.T) {
	var out bytes.Buffer
	b := &progressBar{w: &out, label: "downloading"}
	assert.NotPanics(t, func() { b.update(4488, 1000) })
	assert.Contains(t, out.String(), "["+strings.Repeat("#", barWidth)+"] 100%")
	assert.NotPanics(t, func() { b.update(-1, 1000) })
	assert.Contains(t, out.String(), "["+strings.Repeat(".", barWidth)+"]   0%")
}
