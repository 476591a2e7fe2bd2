package tinkertest

import (
	"net/http"
	"net/url"
	"strings"
)

// Endpoint names, as used by faults, service times, rate limits and the
// request log: the path after /api/v1/, with {id} for path parameters.
const (
	EndpointHealthz               = "healthz"
	EndpointCapabilities          = "get_server_capabilities"
	EndpointClientConfig          = "client/config"
	EndpointDynamicConfig         = "client/dynamic_config"
	EndpointAuthToken             = "auth/token"
	EndpointCreateSession         = "create_session"
	EndpointHeartbeat             = "session_heartbeat"
	EndpointTelemetry             = "telemetry"
	EndpointCreateModel           = "create_model"
	EndpointGetInfo               = "get_info"
	EndpointForwardBackward       = "forward_backward"
	EndpointForward               = "forward"
	EndpointOptimStep             = "optim_step"
	EndpointSaveWeights           = "save_weights"
	EndpointSaveWeightsForSampler = "save_weights_for_sampler"
	EndpointLoadWeights           = "load_weights"
	EndpointUnloadModel           = "unload_model"
	EndpointWeightsInfo           = "weights_info"
	EndpointCreateSamplingSession = "create_sampling_session"
	EndpointAsample               = "asample"
	EndpointRetrieveFuture        = "retrieve_future"
	EndpointSampler               = "samplers/{id}"
	EndpointTrainingRuns          = "training_runs"
	EndpointTrainingRun           = "training_runs/{id}"
	EndpointCheckpoints           = "training_runs/{id}/checkpoints"
	EndpointCheckpoint            = "training_runs/{id}/checkpoints/{checkpoint_id}"
	EndpointCheckpointArchive     = "training_runs/{id}/checkpoints/{checkpoint_id}/archive"
	EndpointCheckpointPublish     = "training_runs/{id}/checkpoints/{checkpoint_id}/publish"
	EndpointCheckpointTTL         = "training_runs/{id}/checkpoints/{checkpoint_id}/ttl"
	EndpointUserCheckpoints       = "checkpoints"
	EndpointSessions              = "sessions"
	EndpointSession               = "sessions/{id}"
	EndpointSessionProject        = "sessions/{id}/project"
	EndpointSessionTraceExport    = "sessions/{id}/trace_export"
	EndpointAudit                 = "audit"
	EndpointBillingUsage          = "billing/usage/events"
)

type handler func(c *call) reply

type routeDef struct {
	endpoint string
	public   bool // no auth
	handlers map[string]handler
	query    []string // the query parameters the endpoint takes; any other is a 400
}

// withQuery names the query parameters a route accepts.
func (r *routeDef) withQuery(names ...string) *routeDef {
	r.query = names
	return r
}

func post(ep string, h handler) *routeDef {
	return &routeDef{endpoint: ep, handlers: map[string]handler{http.MethodPost: h}}
}

func get(ep string, h handler) *routeDef {
	return &routeDef{endpoint: ep, handlers: map[string]handler{http.MethodGet: h}}
}

var staticRoutes map[string]*routeDef

var (
	samplerRoute, runRoute, checkpointsRoute, checkpointRoute, archiveRoute, publishRoute, ttlRoute, sessionRoute,
	sessionProjectRoute, traceExportRoute *routeDef
)

func init() {
	healthz := get(EndpointHealthz, (*call).healthz)
	healthz.public = true
	staticRoutes = map[string]*routeDef{}
	for _, r := range []*routeDef{
		healthz,
		get(EndpointCapabilities, (*call).capabilities),
		post(EndpointClientConfig, (*call).clientConfig),
		post(EndpointDynamicConfig, (*call).dynamicConfig),
		post(EndpointAuthToken, (*call).authToken),
		post(EndpointCreateSession, (*call).createSession),
		post(EndpointHeartbeat, (*call).heartbeat),
		post(EndpointTelemetry, (*call).telemetry),
		post(EndpointCreateModel, (*call).createModel),
		post(EndpointGetInfo, (*call).getInfo),
		post(EndpointForwardBackward, (*call).forwardBackward),
		post(EndpointForward, (*call).forwardLegacy),
		post(EndpointOptimStep, (*call).optimStep),
		post(EndpointSaveWeights, (*call).saveWeights),
		post(EndpointSaveWeightsForSampler, (*call).saveWeightsForSampler),
		post(EndpointLoadWeights, (*call).loadWeights),
		post(EndpointUnloadModel, (*call).unloadModel),
		post(EndpointWeightsInfo, (*call).weightsInfo),
		post(EndpointCreateSamplingSession, (*call).createSamplingSession),
		post(EndpointAsample, (*call).asample),
		post(EndpointRetrieveFuture, (*call).retrieveFuture),
		get(EndpointTrainingRuns, (*call).listTrainingRuns).withQuery("limit", "offset", "access_scope", "project_id"),
		get(EndpointUserCheckpoints, (*call).listUserCheckpoints).withQuery("limit", "offset"),
		get(EndpointSessions, (*call).listSessions).withQuery("limit", "offset", "access_scope"),
		get(EndpointAudit, (*call).auditLog).withQuery("event_type", "day"),
		get(EndpointBillingUsage, (*call).billingUsage).withQuery("starting_on", "ending_before"),
	} {
		staticRoutes[r.endpoint] = r
	}
	samplerRoute = get(EndpointSampler, (*call).getSampler)
	runRoute = get(EndpointTrainingRun, (*call).getTrainingRun).withQuery("access_scope")
	checkpointsRoute = get(EndpointCheckpoints, (*call).listCheckpoints).withQuery("limit", "offset")
	checkpointRoute = &routeDef{endpoint: EndpointCheckpoint, handlers: map[string]handler{http.MethodDelete: (*call).deleteCheckpoint}}
	archiveRoute = get(EndpointCheckpointArchive, (*call).checkpointArchive)
	publishRoute = &routeDef{endpoint: EndpointCheckpointPublish, handlers: map[string]handler{
		http.MethodPost: (*call).publishCheckpoint, http.MethodDelete: (*call).publishCheckpoint}}
	ttlRoute = &routeDef{endpoint: EndpointCheckpointTTL, handlers: map[string]handler{http.MethodPut: (*call).checkpointTTL}}
	sessionRoute = get(EndpointSession, (*call).getSession).withQuery("access_scope")
	sessionProjectRoute = &routeDef{endpoint: EndpointSessionProject, handlers: map[string]handler{http.MethodPut: (*call).assignSessionProject}}
	traceExportRoute = get(EndpointSessionTraceExport, (*call).traceExport)
}

// route resolves an escaped URL path to a route, its unescaped parameters,
// and the allowed methods as "GET,POST,". A checkpoint id contains a slash
// ("weights/<name>"); it may arrive as two raw segments or as one segment
// with %2F. A "." or ".." segment routes nowhere.
func route(escaped string) (*routeDef, []string, string) {
	rest, found := strings.CutPrefix(escaped, "/api/v1/")
	if !found || rest == "" {
		return nil, nil, ""
	}
	var segs []string
	for _, p := range strings.Split(strings.TrimSuffix(rest, "/"), "/") {
		u, err := url.PathUnescape(p)
		// "." and ".." are no ids: a normalizing proxy or server resolves
		// them and the request reaches another route.
		if err != nil || u == "" || u == "." || u == ".." {
			return nil, nil, ""
		}
		segs = append(segs, u)
	}
	var rt *routeDef
	var params []string
	switch {
	case len(segs) == 1 || (len(segs) == 2 && (segs[0] == "client" || segs[0] == "auth")),
		len(segs) == 3 && segs[0] == "billing":
		rt = staticRoutes[strings.Join(segs, "/")]
	case segs[0] == "samplers" && len(segs) == 2:
		rt, params = samplerRoute, segs[1:]
	case segs[0] == "sessions" && len(segs) == 2:
		rt, params = sessionRoute, segs[1:]
	case segs[0] == "sessions" && len(segs) == 3 && segs[2] == "project":
		rt, params = sessionProjectRoute, segs[1:2]
	case segs[0] == "sessions" && len(segs) == 3 && segs[2] == "trace_export":
		rt, params = traceExportRoute, segs[1:2]
	case segs[0] == "training_runs" && len(segs) == 2:
		rt, params = runRoute, segs[1:]
	case segs[0] == "training_runs" && len(segs) == 3 && segs[2] == "checkpoints":
		rt, params = checkpointsRoute, segs[1:2]
	case segs[0] == "training_runs" && len(segs) >= 4 && segs[2] == "checkpoints":
		tail := segs[3:]
		var ckpt string
		if strings.Contains(tail[0], "/") {
			ckpt, tail = tail[0], tail[1:]
		} else if len(tail) >= 2 {
			ckpt, tail = tail[0]+"/"+tail[1], tail[2:]
		} else {
			return nil, nil, ""
		}
		params = []string{segs[1], ckpt}
		switch {
		case len(tail) == 0:
			rt = checkpointRoute
		case len(tail) == 1 && tail[0] == "archive":
			rt = archiveRoute
		case len(tail) == 1 && tail[0] == "publish":
			rt = publishRoute
		case len(tail) == 1 && tail[0] == "ttl":
			rt = ttlRoute
		}
	}
	if rt == nil {
		return nil, nil, ""
	}
	allowed := ""
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if rt.handlers[m] != nil {
			allowed += m + ","
		}
	}
	return rt, params, allowed
}
