package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/telemetry"
)

func TestKeyNeverPrinted(t *testing.T) {
	sys := newSystem(t)
	bus := telemetry.NewBus()
	var events []string
	evs := make(chan telemetry.Event, 4)
	require.NoError(t, bus.Attach("t", []string{"*"}, func(e telemetry.Event) { evs <- e }))
	r, fake := newRegistry(t, registry.WithTelemetry(bus))
	start(t, sys, r)

	k := mustKey(t, "https://tinker.example/api", keyA)
	lim, err := r.Limiter(context.Background(), k)
	require.NoError(t, err)
	require.True(t, lim.ReportRateLimited(time.Second))
	events = append(events, (<-evs).String())
	<-fake.BlockUntil(1)
	fake.Advance(time.Second)
	events = append(events, (<-evs).String())

	es := r.Entries()
	require.Len(t, es, 1)
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		for _, v := range []any{k, &k, []registry.Key{k}, es, es[0], r, map[string]any{"k": k}, struct{ K registry.Key }{k}} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	assert.Contains(t, fmt.Sprint(k), k.Fingerprint(), "String shows the fingerprint")
	assert.Contains(t, fmt.Sprintf("%+v", k), "https://tinker.example/api")

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		slog.New(h).Info("config", "key", k, "registry", r, "entries", es, "entry", es[0])
	}
	assert.Contains(t, buf.String(), k.Fingerprint())
	out = append(out, buf.String(), es[0].PID.String())
	out = append(out, events...)

	_, err = registry.NewKey("https://tml-inurl@tinker.example", "tml-x")
	require.Error(t, err)
	out = append(out, err.Error())
	_, err = registry.NewKey("https://tinker.example", "bad "+keyA)
	require.Error(t, err)
	out = append(out, err.Error())

	for _, s := range out {
		assert.NotContains(t, s, keyA)
		assert.NotContains(t, s, "secret-AAAA")
	}
}

func TestZeroKeyPrints(t *testing.T) {
	var k registry.Key
	assert.True(t, k.IsZero())
	assert.Equal(t, "registry.Key{}", fmt.Sprint(k))
	assert.True(t, strings.HasPrefix(mustKey(t, "https://x.example", keyB).String(), "registry.Key{https://x.example config="))
}
