// Package sentry is the output that delivers exceptions to Sentry: the Go
// client's "exception" messages become Sentry events (their error chain as
// exception values, the stack as frames, the request, tags and extra from
// the fields), and metlog-raven's "sentry" messages are forwarded with the
// event they carry, rewritten to Sentry's current event schema. Each event
// is sent as an envelope to the DSN's project with the X-Sentry-Auth
// header, so applications never talk to Sentry themselves.
//
// # Delivery
//
//	Write(batch) ──▶ for each message: event ──▶ POST /api/PROJECT/envelope/
//	                                               2xx            accepted
//	                                               4xx (not 429)  rejected: logged, counted, not retried
//	                                               429            rate limited: remembered, batch retried
//	                                               5xx, network   batch retried
//
// A batch that fails part way is retried whole by the router, but events
// Sentry already accepted are not sent again. Rejected events are logged
// one by one, and the batch is then reported to the router as permanently
// failed, so the router counts it and moves on; with batch_size = 1 the
// router's counts are exact per event.
//
// Sentry's rate limits (X-Sentry-Rate-Limits on any response, Retry-After
// on a 429) are remembered per project: until they expire, Write fails at
// once without contacting Sentry, and the router's backoff retries later.
// Nothing is dropped to honour a limit; delivery is only delayed.
package sentry

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [output.NAME] table of a sentry output.
type Config struct {
	// DSN is the project's DSN, "https://KEY@host/PROJECT_ID" (http too).
	// It may be empty only when UseMessageDSN is set.
	DSN string `toml:"dsn"`
	// Environment and Release, when set, are given to every event that
	// does not name its own.
	Environment string `toml:"environment"`
	Release     string `toml:"release"`
	// UseMessageDSN sends metlog-raven messages to the DSN in their "dsn"
	// field, when it is an http or https DSN, instead of DSN. Only set it
	// when every sender is trusted: it lets a message choose where the
	// router posts.
	UseMessageDSN bool `toml:"use_message_dsn"`
	// Timeout bounds each request to Sentry.
	Timeout config.Duration `toml:"timeout"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{Timeout: config.Duration(10 * time.Second)}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if c.DSN == "" && !c.UseMessageDSN {
		errs = append(errs, errors.New("dsn must be set (or use_message_dsn)"))
	}
	if c.DSN != "" {
		if _, err := ParseDSN(c.DSN); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout must be positive"))
	}
	return errors.Join(errs...)
}

// Stats are an output's running totals.
type Stats struct {
	// Sent counts events Sentry accepted.
	Sent uint64
	// Rejected counts events Sentry refused with a 4xx status (other
	// than 429), and messages without a DSN to send them to.
	Rejected uint64
	// RateLimited counts writes that failed, or stopped, on a rate limit.
	RateLimited uint64
}

// sdkName identifies the router in the X-Sentry-Auth header.
const sdkName = "metlog-router/" + metlog.EnvVersion

// Output sends events to Sentry. The router calls Write from one
// goroutine; the methods are safe for concurrent use all the same.
type Output struct {
	cfg    Config
	dsn    *DSN // nil when only message DSNs are used
	log    *slog.Logger
	client *http.Client
	now    func() time.Time
	limits limits

	mu   sync.Mutex
	done map[metlog.UUID]bool // events of the batch being retried that Sentry accepted

	sent, rejected, rateLimited atomic.Uint64
}

// New prepares the output; it connects on the first Write.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Output{cfg: cfg, log: log, now: time.Now, done: map[metlog.UUID]bool{},
		client: &http.Client{Timeout: cfg.Timeout.D()}}
	if cfg.DSN != "" {
		o.dsn, _ = ParseDSN(cfg.DSN)
	}
	return o, nil
}

// Stats returns the output's running totals.
func (o *Output) Stats() Stats {
	return Stats{Sent: o.sent.Load(), Rejected: o.rejected.Load(), RateLimited: o.rateLimited.Load()}
}

// ErrRateLimited is returned (wrapped) by Write while Sentry's rate limit
// for a project is in force.
var ErrRateLimited = errors.New("sentry: rate limited")

// Write sends an event for every message of the batch; see the package
// documentation for what happens on each kind of failure.
func (o *Output) Write(ctx context.Context, batch []*metlog.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var rejected []error
	for _, m := range batch {
		if o.done[m.UUID] {
			continue
		}
		dsn := o.dsnFor(m)
		if dsn == nil {
			o.rejected.Add(1)
			o.log.Error("no DSN to send the event to; skipped", "uuid", m.UUID, "type", m.Type)
			rejected = append(rejected, fmt.Errorf("event %s: no usable dsn", m.UUID))
			o.done[m.UUID] = true
			continue
		}
		if until := o.limits.blockedUntil(dsn, o.now()); !until.IsZero() {
			o.rateLimited.Add(1)
			return fmt.Errorf("%w for project %s until %s", ErrRateLimited, dsn.Project(), until.UTC().Format(time.RFC3339))
		}
		body, err := o.envelope(dsn, m)
		if err != nil {
			o.rejected.Add(1)
			o.log.Error("event cannot be encoded; skipped", "uuid", m.UUID, "err", err)
			rejected = append(rejected, err)
			o.done[m.UUID] = true
			continue
		}
		err = o.post(ctx, dsn, body)
		switch {
		case err == nil:
			o.sent.Add(1)
			o.done[m.UUID] = true
		case output.IsPermanent(err):
			o.rejected.Add(1)
			o.log.Error("sentry rejected the event; skipped", "uuid", m.UUID, "dsn", dsn.String(), "err", err)
			rejected = append(rejected, fmt.Errorf("event %s: %w", m.UUID, err))
			o.done[m.UUID] = true
		default:
			if errors.Is(err, ErrRateLimited) {
				o.rateLimited.Add(1)
			}
			return err
		}
	}
	clear(o.done)
	if len(rejected) > 0 {
		return output.Permanent(fmt.Errorf("sentry: %d of %d events rejected: %w", len(rejected), len(batch),
			errors.Join(rejected...)))
	}
	return nil
}

// dsnFor picks where m goes: a metlog-raven message's own DSN when the
// config allows it and it is usable, else the configured DSN.
func (o *Output) dsnFor(m *metlog.Message) *DSN {
	if o.cfg.UseMessageDSN && m.Type == TypeSentry {
		if f := m.Field("dsn"); f != nil && f.Type == metlog.TypeString && len(f.Strings) == 1 {
			d, err := ParseDSN(f.Strings[0])
			if err == nil {
				return d
			}
			o.log.Debug("the message's dsn is not usable; using the configured one",
				"dsn", redactURL(f.Strings[0]), "err", err)
		}
	}
	return o.dsn
}

// eventJSON returns the ID of the Sentry event for m and the event as
// JSON.
func (o *Output) eventJSON(m *metlog.Message) (string, []byte, error) {
	if m.Type == TypeSentry {
		ev := o.ravenEvent(m)
		b, err := json.Marshal(ev)
		id, _ := ev["event_id"].(string)
		return id, b, err
	}
	ev := o.exceptionEvent(m)
	b, err := json.Marshal(ev)
	return ev.EventID, b, err
}

// envelope frames the event for m as an envelope of one item:
//
//	{"event_id":…,"sent_at":…,"dsn":…}\n{"type":"event","length":N,"content_type":"application/json"}\nEVENT\n
func (o *Output) envelope(dsn *DSN, m *metlog.Message) ([]byte, error) {
	id, ev, err := o.eventJSON(m)
	if err != nil {
		return nil, err
	}
	head, _ := json.Marshal(map[string]string{"event_id": id, "dsn": dsn.envelopeDSN(),
		"sent_at": o.now().UTC().Format(time.RFC3339Nano)})
	var b bytes.Buffer
	b.Grow(len(head) + len(ev) + 80)
	b.Write(head)
	b.WriteString("\n{\"type\":\"event\",\"length\":")
	b.WriteString(strconv.Itoa(len(ev)))
	b.WriteString(",\"content_type\":\"application/json\"}\n")
	b.Write(ev)
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// post sends one envelope. It returns nil when Sentry accepted it, an
// output.Permanent error when it refused it, and any other error when a
// retry may succeed.
func (o *Output) post(ctx context.Context, dsn *DSN, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dsn.EnvelopeURL(), bytes.NewReader(body))
	if err != nil {
		return output.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/x-sentry-envelope")
	req.Header.Set("X-Sentry-Auth", dsn.AuthHeader(sdkName))
	req.Header.Set("User-Agent", sdkName)
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("sentry %s: %w", dsn, redactedParseError(err))
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	o.limits.update(dsn, resp, o.now())
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s answered 429", ErrRateLimited, dsn)
	case code == http.StatusRequestTimeout || code >= 500:
		return fmt.Errorf("sentry %s: %s: %s", dsn, resp.Status, bytes.TrimSpace(text))
	default:
		return output.Permanent(fmt.Errorf("sentry %s: %s: %s", dsn, resp.Status, bytes.TrimSpace(text)))
	}
}

// Close drops idle connections.
func (o *Output) Close() error {
	o.client.CloseIdleConnections()
	return nil
}
