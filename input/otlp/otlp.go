// Package otlp is the input that receives OpenTelemetry logs and metrics
// over OTLP: OTLP/HTTP (POST /v1/logs and /v1/metrics, binary protobuf or
// OTLP/JSON, optionally gzipped) on one address and OTLP/gRPC on another.
// Log records become log messages and data points become the counter,
// gauge and histogram messages metlog's metric outputs read; the mapping
// is in docs/otlp.md and in the doc comments of logMessage and
// metricMessages.
//
// A request is answered only once its messages are durable in the
// journal. Data points that cannot be mapped (exponential histograms,
// summaries, non-finite values) are reported in a partial-success
// response; a full journal is answered 503 (gRPC UNAVAILABLE), which OTLP
// exporters retry.
package otlp

import (
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip" // exporters may compress gRPC messages with gzip
	"google.golang.org/grpc/peer"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [input.NAME] table of an OTLP input.
type Config struct {
	// HTTPAddress is where OTLP/HTTP is served, host:port; "" turns it off.
	HTTPAddress string `toml:"http_address"`
	// GRPCAddress is where OTLP/gRPC is served, host:port; "" turns it off.
	GRPCAddress string `toml:"grpc_address"`
	// Logger is the Logger of messages whose resource has no service.name.
	Logger string `toml:"logger"`
	// LogType is the Type of messages made from log records.
	LogType string `toml:"log_type"`
	// ResourceFields lists the resource attributes copied, as
	// "resource.KEY" fields, into metric messages (which become labels
	// downstream, so by default none are). Log messages carry them all.
	ResourceFields []string `toml:"resource_fields"`
	// MaxBodySize bounds a request, after decompression (and a gRPC
	// message).
	MaxBodySize int64 `toml:"max_body_size"`
	// FullTimeout is how long a request waits for room in a full journal
	// before it is answered 503 (gRPC UNAVAILABLE).
	FullTimeout config.Duration `toml:"full_timeout"`
	// StreamExpiry is how long the previous point of a cumulative stream is
	// kept without news (to turn cumulative sums and histograms into
	// increments).
	StreamExpiry config.Duration `toml:"stream_expiry"`
	// MaxStreams bounds the cumulative streams kept.
	MaxStreams int `toml:"max_streams"`
	// TLS, when configured, serves both addresses with TLS.
	TLS input.TLS `toml:"tls"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		HTTPAddress:  "127.0.0.1:4318",
		GRPCAddress:  "127.0.0.1:4317",
		Logger:       "otlp",
		LogType:      metlog.TypeOldstyle,
		MaxBodySize:  16 << 20,
		FullTimeout:  config.Duration(10 * time.Second),
		StreamExpiry: config.Duration(time.Hour),
		MaxStreams:   100000,
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if c.HTTPAddress == "" && c.GRPCAddress == "" {
		errs = append(errs, errors.New("set http_address, grpc_address or both"))
	}
	for _, a := range []struct{ key, addr string }{{"http_address", c.HTTPAddress}, {"grpc_address", c.GRPCAddress}} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %v", a.key, a.addr, err))
		}
	}
	if c.LogType == "" {
		errs = append(errs, errors.New("log_type must not be empty"))
	}
	if c.MaxBodySize < 1 || c.MaxBodySize > 1<<30 {
		errs = append(errs, fmt.Errorf("max_body_size %d: want 1..%d", c.MaxBodySize, 1<<30))
	}
	if c.FullTimeout <= 0 {
		errs = append(errs, errors.New("full_timeout must be positive"))
	}
	if c.StreamExpiry <= 0 {
		errs = append(errs, errors.New("stream_expiry must be positive"))
	}
	if c.MaxStreams < 1 {
		errs = append(errs, errors.New("max_streams must be at least 1"))
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Input holds the bound listeners; Run serves them.
type Input struct {
	cfg      Config
	log      *slog.Logger
	tls      *tls.Config      // nil without TLS
	srvTLS   *input.ServerTLS // what reloads it
	httpLn   net.Listener
	grpcLn   net.Listener
	streams  *streams
	counters input.Counters
}

// New validates cfg and binds the listeners.
func New(cfg Config, log *slog.Logger) (*Input, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := cfg.TLS.Server()
	if err != nil {
		return nil, err
	}
	in := &Input{cfg: cfg, log: log, srvTLS: st,
		streams: newStreams(time.Now(), cfg.StreamExpiry.D(), cfg.MaxStreams)}
	if st != nil {
		in.tls = st.Config()
	}
	if cfg.HTTPAddress != "" {
		if in.httpLn, err = net.Listen("tcp", cfg.HTTPAddress); err != nil {
			return nil, err
		}
	}
	if cfg.GRPCAddress != "" {
		if in.grpcLn, err = net.Listen("tcp", cfg.GRPCAddress); err != nil {
			in.Close()
			return nil, err
		}
	}
	return in, nil
}

// Close releases the listeners of an input that will not Run.
func (in *Input) Close() error {
	var errs []error
	for _, ln := range []net.Listener{in.httpLn, in.grpcLn} {
		if ln != nil {
			if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Addr returns the OTLP/HTTP listener's address, or the gRPC one's when
// HTTP is off.
func (in *Input) Addr() net.Addr {
	if in.httpLn != nil {
		return in.httpLn.Addr()
	}
	return in.grpcLn.Addr()
}

// HTTPAddr returns the OTLP/HTTP listener's address, or nil.
func (in *Input) HTTPAddr() net.Addr {
	if in.httpLn == nil {
		return nil
	}
	return in.httpLn.Addr()
}

// GRPCAddr returns the OTLP/gRPC listener's address, or nil.
func (in *Input) GRPCAddr() net.Addr {
	if in.grpcLn == nil {
		return nil
	}
	return in.grpcLn.Addr()
}

// Counters returns the input's running totals.
func (in *Input) Counters() *input.Counters { return &in.counters }

// Run serves both listeners until ctx ends, then stops them, letting
// requests in progress finish, and returns.
func (in *Input) Run(ctx context.Context, sink input.Sink) error {
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	var srv *http.Server
	if in.httpLn != nil {
		srv = &http.Server{
			Handler:           in.Handler(sink),
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          slog.NewLogLogger(in.log.Handler(), slog.LevelWarn),
			TLSConfig:         in.tls.Clone(), // the server changes it
		}
		wg.Go(func() {
			var err error
			if in.tls != nil {
				err = srv.ServeTLS(in.httpLn, "", "")
			} else {
				err = srv.Serve(in.httpLn)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("otlp http: %w", err)
			}
		})
	}
	var gs *grpc.Server
	if in.grpcLn != nil {
		opts := []grpc.ServerOption{grpc.MaxRecvMsgSize(int(in.cfg.MaxBodySize))}
		if in.tls != nil {
			opts = append(opts, grpc.Creds(credentials.NewTLS(in.tls.Clone())))
		}
		gs = grpc.NewServer(opts...)
		in.registerGRPC(gs, sink)
		wg.Go(func() {
			if err := gs.Serve(in.grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- fmt.Errorf("otlp grpc: %w", err)
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		in.log.Error("otlp input stopped", "error", err)
	}
	// Stop both servers, letting requests in progress finish: each waits
	// at most full_timeout for the journal.
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), in.cfg.FullTimeout.D()+5*time.Second)
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		cancel()
	}
	if gs != nil {
		gs.GracefulStop()
	}
	wg.Wait()
	return err
}

// Reload reads the TLS certificates again (input.Reloader); connections
// already open keep theirs.
func (in *Input) Reload() error {
	if in.srvTLS == nil {
		return nil
	}
	return in.srvTLS.Reload()
}

// tlsClientKey is the context key of the name on the sender's verified
// client certificate, for HTTP requests.
type tlsClientKey struct{}

// tlsClient returns the name on the verified client certificate of the
// request ctx belongs to (HTTP or gRPC), or "".
func tlsClient(ctx context.Context) string {
	if name, ok := ctx.Value(tlsClientKey{}).(string); ok {
		return name
	}
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			return input.ClientName(&ti.State)
		}
	}
	return ""
}

// deliver stores msgs durably; size is the request's size in bytes. Each
// message loses the identity fields a sender may have set as attributes,
// and gets the name on its client certificate, if any, as tls_client.
func (in *Input) deliver(ctx context.Context, sink input.Sink, msgs []*metlog.Message, size int) error {
	if len(msgs) == 0 {
		return nil
	}
	client := tlsClient(ctx)
	for _, m := range msgs {
		input.Identify(m, client, "")
	}
	ctx, cancel := context.WithTimeout(ctx, in.cfg.FullTimeout.D())
	defer cancel()
	if err := sink.Deliver(ctx, msgs, input.DeliverOptions{Durable: true}); err != nil {
		in.counters.Dropped(len(msgs))
		return err
	}
	in.counters.Received(len(msgs), size)
	return nil
}
