package tinkex_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// A service behind a private certificate authority: add the authority to
// the system's roots (checkpoint archives and the Hugging Face hub are
// reached through the same pools) and give the runtime the config. tinkex
// speaks HTTP/2 to it, as the SDK does.
func ExampleWithTLSConfig() {
	ctx := context.Background()
	srv := tinkertest.NewServer(tinkertest.WithTLS()) // HTTPS and HTTP/2 on a self-signed certificate
	defer srv.Close()
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	roots.AppendCertsFromPEM(srv.CertificatePEM())
	rt, err := tinkex.Start(ctx, tinkex.WithTLSConfig(&tls.Config{RootCAs: roots}))
	if err != nil {
		fmt.Println("start:", err)
		return
	}
	defer func() { _ = rt.Stop(ctx) }()
	svc, err := rt.NewServiceClient(ctx, tinkex.WithAPIKey("tml-example-key"), tinkex.WithBaseURL(srv.URL()),
		tinkex.WithTelemetry(false), tinkex.WithoutSession())
	if err != nil {
		fmt.Println("connect:", err)
		return
	}
	_, err = svc.GetServerCapabilities(ctx)
	fmt.Println("capabilities:", err)
	fmt.Println(srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointCapabilities})[0].Proto)
	// Output:
	// capabilities: <nil>
	// HTTP/2.0
}
