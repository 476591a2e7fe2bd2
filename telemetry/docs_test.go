package telemetry

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The docs are part of the telemetry contract: these tests keep
// docs/telemetry.md and docs/grafana-dashboard.json in step with the code.

func metricFamilies(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := NewPrometheusCollector(reg)
	require.NoError(t, err)
	for _, name := range []string{HTTPRequestStop, HTTPRetry, LimiterBackoffSet, QueueStateChange, FutureTimeout,
		TrainingPrefix + "forward.stop", SamplingSample + ".stop", SupervisorChildStarted, SupervisorChildRestarted,
		SupervisorChildStopped, SupervisorIntensityExceeded, HandlerFailed} {
		c.Handle(Event{Name: name, Measurements: map[string]float64{MeasureDuration: 1}})
	}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	require.Len(t, names, 16)
	return names
}

func TestDocsListEveryEventAndMetric(t *testing.T) {
	raw, err := os.ReadFile("../docs/telemetry.md")
	require.NoError(t, err)
	doc := string(raw)
	events := []string{HTTPRequestStart, HTTPRequestStop, HTTPRequestError, HTTPRetry, CallRetry, TrainingSeqGap, LimiterBackoffSet,
		LimiterBackoffCleared, QueueStateChange, FutureAPIError, FutureConnectionError, FutureRequestFailed,
		FutureTimeout, TrainingPrefix + "<op>.start", TrainingPrefix + "<op>.stop", TrainingPrefix + "<op>.exception",
		SamplingSample + ".start", SamplingSample + ".stop", SamplingSample + ".exception",
		SupervisorChildStarted, SupervisorChildRestarted, SupervisorChildStopped, SupervisorIntensityExceeded, HandlerFailed}
	for _, e := range events {
		assert.Contains(t, doc, "`"+e+"`", "docs/telemetry.md must document %s", e)
	}
	for name := range metricFamilies(t) {
		assert.Contains(t, doc, "`"+name+"`", "docs/telemetry.md must list metric %s", name)
	}
}

func TestGrafanaDashboardUsesExistingMetrics(t *testing.T) {
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Type    string
			Targets []struct{ Expr string }
		}
	}
	require.NoError(t, json.Unmarshal(raw, &dash), "valid JSON")
	families := metricFamilies(t)
	used := map[string]bool{}
	metric := regexp.MustCompile(`tinkex_[a-z_]+`)
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets)
		for _, tg := range p.Targets {
			for _, m := range metric.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(m, "_bucket")
				assert.True(t, families[base], "dashboard query uses unknown metric %s", m)
				used[base] = true
			}
		}
	}
	for name := range families {
		assert.True(t, used[name], "dashboard has no panel for %s", name)
	}
}
