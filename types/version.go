package types

// Version is the version of tinkex itself, sent in User-Agent and
// X-Stainless-Package-Version.
const Version = "0.1.0"

// ProtocolVersion is the Tinker Python SDK version whose wire protocol tinkex
// speaks. It is sent as "sdk_version" in client/config, create_session and
// telemetry bodies, because the server selects protocol features by it.
const ProtocolVersion = "0.25.0"
