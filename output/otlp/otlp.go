// Package otlp is the output that forwards messages to any OpenTelemetry
// (OTLP) receiver over OTLP/HTTP with binary protobuf: metric messages
// (counter, gauge, timer, histogram, and the statsd accumulator's
// statmetric) as metric data points, everything else as log records. The
// mapping, the inverse of the otlp input's, is in docs/otlp.md and the doc
// comments of logsRequest and metricBatch.
//
// Batching and retries are the router's: Write sends a batch as at most
// two requests (logs, metrics) and reports how they went. Network errors
// and the statuses OTLP calls retryable (429, 502, 503, 504) are retried;
// any other refusal is permanent (output.Permanent). A partial success
// (the receiver rejected some records) is logged and counted, not retried.
package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	otlpin "github.com/metlog/metlog/input/otlp"
	"github.com/metlog/metlog/output"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [output.NAME] table of an otlp output.
type Config struct {
	// Endpoint is the receiver's base URL; the signal paths are appended.
	Endpoint string `toml:"endpoint"`
	// LogsPath and MetricsPath are the paths of the two signals.
	LogsPath    string `toml:"logs_path"`
	MetricsPath string `toml:"metrics_path"`
	// Headers are sent with every request (for example an API key).
	Headers map[string]string `toml:"headers"`
	// Compression is "gzip" or "none".
	Compression string `toml:"compression"`
	// Timeout bounds one request.
	Timeout config.Duration `toml:"timeout"`
	// Metrics sends metric messages as metric data points; false sends
	// every message as a log record.
	Metrics bool `toml:"metrics"`
	// TimerBuckets are the bucket upper bounds, in milliseconds, of the
	// histograms timer messages become.
	TimerBuckets []float64 `toml:"timer_buckets"`
	// MaxGaugeSeries bounds the gauges whose last value is kept (for +N
	// and -N payloads).
	MaxGaugeSeries int `toml:"max_gauge_series"`
	// CAFile is a PEM bundle of CAs to trust for https, instead of the
	// system's.
	CAFile string `toml:"ca_file"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Endpoint:       "http://127.0.0.1:4318",
		LogsPath:       otlpin.LogsPath,
		MetricsPath:    otlpin.MetricsPath,
		Headers:        map[string]string{},
		Compression:    "gzip",
		Timeout:        config.Duration(30 * time.Second),
		Metrics:        true,
		TimerBuckets:   []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000},
		MaxGaugeSeries: 100000,
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("endpoint %q: want an http:// or https:// URL", c.Endpoint))
	}
	for _, p := range []struct{ key, path string }{{"logs_path", c.LogsPath}, {"metrics_path", c.MetricsPath}} {
		if !strings.HasPrefix(p.path, "/") {
			errs = append(errs, fmt.Errorf("%s %q: want an absolute path", p.key, p.path))
		}
	}
	if c.Compression != "gzip" && c.Compression != "none" {
		errs = append(errs, fmt.Errorf("compression %q: want \"gzip\" or \"none\"", c.Compression))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout must be positive"))
	}
	if !slices.IsSorted(c.TimerBuckets) {
		errs = append(errs, errors.New("timer_buckets must be in increasing order"))
	}
	for i := 1; i < len(c.TimerBuckets); i++ {
		if c.TimerBuckets[i] == c.TimerBuckets[i-1] {
			errs = append(errs, errors.New("timer_buckets must not repeat a bound"))
			break
		}
	}
	if c.MaxGaugeSeries < 1 {
		errs = append(errs, errors.New("max_gauge_series must be at least 1"))
	}
	return errors.Join(errs...)
}

// Output sends batches to one OTLP/HTTP receiver. Write may be called by
// one goroutine at a time, as the router does.
type Output struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client
	gauges gauges
	// rejected counts records and data points receivers refused in
	// partial successes.
	rejected atomic.Uint64
}

// New prepares the output; it connects on the first Write.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: no PEM certificates in %s", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	return &Output{cfg: cfg, log: log, client: &http.Client{Transport: tr, Timeout: cfg.Timeout.D()},
		gauges: gauges{max: cfg.MaxGaugeSeries}}, nil
}

// Close releases idle connections.
func (o *Output) Close() error {
	o.client.CloseIdleConnections()
	return nil
}

// Rejected returns how many records and data points receivers refused in
// partial successes.
func (o *Output) Rejected() uint64 { return o.rejected.Load() }

// Write sends batch: its log records in one request, its metric data
// points in another. When the logs went and the metrics failed, the whole
// batch is retried (OTLP receivers see the logs twice: at least once).
func (o *Output) Write(ctx context.Context, batch []*metlog.Message) error {
	var logs []*metlog.Message
	mb := o.newMetricBatch()
	for _, m := range batch {
		if !o.cfg.Metrics || !isMetric(m) || !mb.add(m) {
			logs = append(logs, m)
		}
	}
	if len(logs) > 0 {
		var resp collogspb.ExportLogsServiceResponse
		if err := o.send(ctx, o.cfg.LogsPath, logsRequest(logs), &resp); err != nil {
			return err
		}
		if ps := resp.PartialSuccess; ps != nil && (ps.RejectedLogRecords > 0 || ps.ErrorMessage != "") {
			o.rejected.Add(uint64(max(ps.RejectedLogRecords, 0)))
			o.log.Warn("otlp receiver rejected log records", "rejected", ps.RejectedLogRecords, "error", ps.ErrorMessage)
		}
	}
	if len(mb.req.ResourceMetrics) > 0 {
		var resp colmetricspb.ExportMetricsServiceResponse
		if err := o.send(ctx, o.cfg.MetricsPath, mb.req, &resp); err != nil {
			return err
		}
		o.gauges.commit(mb.gauges)
		if ps := resp.PartialSuccess; ps != nil && (ps.RejectedDataPoints > 0 || ps.ErrorMessage != "") {
			o.rejected.Add(uint64(max(ps.RejectedDataPoints, 0)))
			o.log.Warn("otlp receiver rejected data points", "rejected", ps.RejectedDataPoints, "error", ps.ErrorMessage)
		}
	}
	return nil
}

// send posts req to path and decodes the response into resp.
func (o *Output) send(ctx context.Context, path string, req, resp proto.Message) error {
	body, err := proto.Marshal(req)
	if err != nil {
		return output.Permanent(err)
	}
	if o.cfg.Compression == "gzip" {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	u := strings.TrimSuffix(o.cfg.Endpoint, "/") + path
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return output.Permanent(err)
	}
	hr.Header.Set("Content-Type", otlpin.ContentTypeProtobuf)
	if o.cfg.Compression == "gzip" {
		hr.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range o.cfg.Headers {
		hr.Header.Set(k, v)
	}
	res, err := o.client.Do(hr)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return err
	}
	if res.StatusCode/100 == 2 {
		if len(data) > 0 && proto.Unmarshal(data, resp) != nil {
			o.log.Debug("otlp response does not decode", "url", u)
		}
		return nil
	}
	msg := strings.TrimSpace(string(data))
	var st spb.Status
	if proto.Unmarshal(data, &st) == nil && st.Message != "" {
		msg = st.Message
	}
	if len(msg) > 512 {
		msg = msg[:512]
	}
	err = fmt.Errorf("otlp %s: %s: %s", u, res.Status, msg)
	switch res.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return err
	}
	if res.StatusCode >= 500 {
		return err
	}
	return output.Permanent(err)
}
