// Command tinkerfake runs the tinkertest fake Tinker server on its own, for
// clients in other processes or languages.
//
//	go run ./cmd/tinkerfake -addr 127.0.0.1:0
//
// With -tls it serves HTTPS and HTTP/2, as the production service does, and
// -cert writes the certificate to trust:
//
//	go run ./cmd/tinkerfake -tls -cert /tmp/fake.pem
//	SSL_CERT_FILE=/tmp/fake.pem my-client https://127.0.0.1:41234
//
// It prints the base URL (e.g. http://127.0.0.1:41234) as the first line on
// stdout (and with -control the scripting API's URL as the second, see
// control.go), serves until SIGINT or SIGTERM, then stops cleanly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tinkex-go/tinkex/tinkertest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tinkerfake:", err)
		os.Exit(2)
	}
}

// run serves until ctx ends; the first line written to stdout is the base
// URL.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tinkerfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	keys := fs.String("keys", "", "comma-separated API keys to accept (default: any key starting tml- or eyJ)")
	hold := fs.Duration("hold", time.Second, "long-poll hold of retrieve_future")
	jwt := fs.Duration("jwt", 0, "enable JWT auth with tokens valid this long (0: off)")
	sampleTime := fs.Duration("sample-time", 0, "service time of each asample request")
	trainTime := fs.Duration("train-time", 0, "service time of each forward_backward and optim_step request")
	metadata := fs.Bool("complete-metadata", false, "answer complete_metadata before results when polls allow it")
	logLimit := fs.Int("log-limit", 100_000, "request log entries kept")
	useTLS := fs.Bool("tls", false, "serve HTTPS with HTTP/2 (as the production service does) on a self-signed certificate")
	certFile := fs.String("cert", "", "with -tls, write the server's certificate (PEM) to this file, for clients to trust (e.g. SSL_CERT_FILE)")
	controlAddr := fs.String("control", "", "listen address of the scripting API (faults, in-flight counts); printed as the second line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *certFile != "" && !*useTLS {
		return errors.New("-cert needs -tls")
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	opts := []tinkertest.Option{
		tinkertest.WithListener(l),
		tinkertest.WithLongPollHold(*hold),
		tinkertest.WithLogLimit(*logLimit),
		tinkertest.WithServiceTime(tinkertest.EndpointAsample, *sampleTime),
		tinkertest.WithServiceTime(tinkertest.EndpointForwardBackward, *trainTime),
		tinkertest.WithServiceTime(tinkertest.EndpointOptimStep, *trainTime),
	}
	if *keys != "" {
		var ks []string
		for _, k := range strings.Split(*keys, ",") {
			if k = strings.TrimSpace(k); k != "" {
				ks = append(ks, k)
			}
		}
		opts = append(opts, tinkertest.WithKeys(ks...))
	}
	if *jwt > 0 {
		opts = append(opts, tinkertest.WithJWT(*jwt))
	}
	if *metadata {
		opts = append(opts, tinkertest.WithCompleteMetadata())
	}
	if *useTLS {
		opts = append(opts, tinkertest.WithTLS())
	}
	srv := tinkertest.NewServer(opts...)
	defer srv.Close()
	if *certFile != "" {
		if err := os.WriteFile(*certFile, srv.CertificatePEM(), 0o644); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintln(stdout, srv.URL()); err != nil {
		return err
	}
	if *controlAddr != "" {
		cl, err := net.Listen("tcp", *controlAddr)
		if err != nil {
			return err
		}
		hs := control(srv, cl)
		defer hs.Close()
		if _, err := fmt.Fprintln(stdout, "http://"+cl.Addr().String()); err != nil {
			return err
		}
	}
	<-ctx.Done()
	fmt.Fprintf(stderr, "tinkerfake: served %d requests, stopping\n", srv.Count(tinkertest.Match{}))
	return nil
}
