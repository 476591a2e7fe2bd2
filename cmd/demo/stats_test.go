package main

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tinkex-go/tinkex/types"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, percentile(tt.sorted, tt.p), "p%d of %d", tt.p, len(tt.sorted))
	}
}

func TestClientStats(t *testing.T) {
	s := newClientStats("A/sampling")
	assert.False(t, s.okAfter(0))
	for range 3 {
		s.begin()
	}
	s.end(10*time.Millisecond, time.Second, nil)
	s.end(30*time.Millisecond, 3*time.Second, &types.Error{Kind: types.KindUser})
	s.end(20*time.Millisecond, 2*time.Second, errors.New("plain"))
	snap := s.snapshot(true)
	assert.Equal(t, 3, snap.Issued)
	assert.Equal(t, 3, snap.Ended)
	assert.Equal(t, 1, snap.OK)
	assert.Equal(t, 3, snap.Peak)
	assert.Equal(t, map[string]int{"user": 1, types.KindOf(errors.New("plain")).String(): 1}, snap.Errors)
	assert.Equal(t, 20*time.Millisecond, snap.P50)
	assert.Equal(t, 30*time.Millisecond, snap.P99)
	assert.True(t, s.okAfter(500*time.Millisecond))
	assert.False(t, s.okAfter(time.Second), "the errors after it do not count")
	assert.Equal(t, 1, snap.okBetween(0, time.Second))
	assert.Equal(t, 0, snap.okBetween(1500*time.Millisecond, 5*time.Second))
}
