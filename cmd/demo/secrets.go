package main

import (
	"bytes"
	"io"
	"sync"
)

// leakGuard watches everything the demo prints for the API keys it uses.
// It does not hide anything: output passes through unchanged, and a key
// found in it fails the run's "no key in any output" invariant.
type leakGuard struct {
	secrets map[string]string // secret -> what it is ("config A's API key")
	longest int

	mu    sync.Mutex
	found map[string]bool
}

func newLeakGuard(secrets map[string]string) *leakGuard {
	g := &leakGuard{secrets: map[string]string{}, found: map[string]bool{}}
	for s, name := range secrets {
		if s == "" {
			continue
		}
		g.secrets[s] = name
		g.longest = max(g.longest, len(s))
	}
	return g
}

// scan checks b for the secrets.
func (g *leakGuard) scan(b []byte) {
	for s, name := range g.secrets {
		if bytes.Contains(b, []byte(s)) {
			g.mu.Lock()
			g.found[name] = true
			g.mu.Unlock()
		}
	}
}

// leaks names the secrets seen so far.
func (g *leakGuard) leaks() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for name := range g.found {
		out = append(out, name)
	}
	return out
}

// writer returns w with every byte written to it scanned, including a key
// split across two writes.
func (g *leakGuard) writer(w io.Writer) io.Writer { return &scanWriter{g: g, w: w} }

type scanWriter struct {
	g    *leakGuard
	w    io.Writer
	mu   sync.Mutex
	tail []byte // the last longest-1 bytes written
}

func (s *scanWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	buf := append(s.tail, p...)
	s.g.scan(buf)
	keep := min(len(buf), max(s.g.longest-1, 0))
	s.tail = append(s.tail[:0:0], buf[len(buf)-keep:]...)
	s.mu.Unlock()
	return s.w.Write(p)
}
