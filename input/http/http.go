// Package http is the input that takes messages over HTTP on the router's
// HTTP address: POST /v1/messages with a body of metlog JSON lines or a
// Heka stream, optionally gzipped. The response is 200 only once every
// accepted message is durable in the journal.
//
//	200 {"accepted": 3}
//	400 {"error": "…", "accepted": 2, "rejected": 1, "errors": [{"index": 1, "reason": "malformed", "error": "…"}]}
//	401 {"error": "a valid ingest token is required: …"}   (with tokens)
//	413 {"error": "body over 16777216 bytes"}
//	415 {"error": "unsupported Content-Encoding \"br\""}
//	429 {"error": "3 messages are over this source's rate limit; …"}   (with Retry-After)
//	503 {"error": "journal full"}            (with Retry-After)
//
// A 400 still stored the messages it counts as accepted: resend only the
// rejected ones, fixed.
package http

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/codec/metlogjson"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [input.NAME] table of an HTTP input.
type Config struct {
	// Path the input is served at, on the router's http address.
	Path string `toml:"path"`
	// MaxBodySize bounds a request body, after decompression.
	MaxBodySize int64 `toml:"max_body_size"`
	// MaxMessageSize is the largest message accepted, in bytes.
	MaxMessageSize int `toml:"max_message_size"`
	// Format is what the input accepts: "auto" (metlog JSON, Heka JSON
	// and Heka records, told apart), "metlog-json", "heka-json" or "heka".
	Format input.Format `toml:"format"`
	// FullTimeout is how long a request waits for room in a full journal
	// before it is answered 503.
	FullTimeout config.Duration `toml:"full_timeout"`
	// BodyTimeout is how long a client may take to send a request's body,
	// so that bodies trickled byte by byte (slow-loris) do not hold
	// connections for ever; a request over it is answered 408.
	BodyTimeout config.Duration `toml:"body_timeout"`
	// Tokens, when any is set, make a token necessary: each request sends
	// one as "Authorization: Bearer <token>", and its messages carry the
	// token's source as field ingest_source.
	Tokens []IngestToken `toml:"tokens"`

	input.Signatures
	input.RateLimit
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Path:           "/v1/messages",
		MaxBodySize:    16 << 20,
		MaxMessageSize: heka.MaxMessageSize,
		FullTimeout:    config.Duration(10 * time.Second),
		BodyTimeout:    config.Duration(30 * time.Second),
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, " {}") {
		errs = append(errs, fmt.Errorf("path %q: want an absolute URL path such as \"/v1/messages\"", c.Path))
	}
	if c.MaxBodySize < 1 {
		errs = append(errs, errors.New("max_body_size must be positive"))
	}
	if c.MaxMessageSize < 1 || c.MaxMessageSize > heka.MaxMessageSize {
		errs = append(errs, fmt.Errorf("max_message_size %d: want 1..%d", c.MaxMessageSize, heka.MaxMessageSize))
	}
	if c.FullTimeout <= 0 {
		errs = append(errs, errors.New("full_timeout must be positive"))
	}
	if c.BodyTimeout <= 0 {
		errs = append(errs, errors.New("body_timeout must be positive"))
	}
	if err := c.Signatures.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.RateLimit.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := validateTokens(c.Tokens); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Input serves requests on the router's HTTP server.
type Input struct {
	cfg      Config
	log      *slog.Logger
	dec      input.Decoder
	counters input.Counters
	limiter  *input.Limiter // nil without rate_limit
	tokens   atomic.Pointer[tokenTable]
}

// New validates cfg and loads the signature keys.
func New(cfg Config, log *slog.Logger) (*Input, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	keys, err := cfg.Signatures.KeySet()
	if err != nil {
		return nil, err
	}
	tokens, err := loadTokens(cfg.Tokens, os.Getenv)
	if err != nil {
		return nil, err
	}
	in := &Input{cfg: cfg, log: log, limiter: cfg.RateLimit.Limiter(),
		dec: input.Decoder{MaxSize: cfg.MaxMessageSize, Keys: keys, RequireSignature: cfg.RequireSignature, Format: cfg.Format}}
	in.tokens.Store(tokens)
	return in, nil
}

// Reload reads the token files again (input.Reloader); on error the
// previous tokens stay.
func (in *Input) Reload() error {
	tokens, err := loadTokens(in.cfg.Tokens, os.Getenv)
	if err != nil {
		return err
	}
	in.tokens.Store(tokens)
	return nil
}

// Run waits for ctx to end: the router's HTTP server does the serving.
func (in *Input) Run(ctx context.Context, _ input.Sink) error {
	<-ctx.Done()
	return nil
}

// Counters returns the input's running totals.
func (in *Input) Counters() *input.Counters { return &in.counters }

// Pattern is where the router mounts Handler.
func (in *Input) Pattern() string { return "POST " + in.cfg.Path }

type itemError struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
}

type response struct {
	Error    string      `json:"error,omitempty"`
	Accepted int         `json:"accepted"`
	Rejected int         `json:"rejected,omitempty"`
	Errors   []itemError `json:"errors,omitempty"`
}

// maxItemErrors bounds the per-message errors a response lists.
const maxItemErrors = 20

// Handler returns the handler that decodes a request and delivers it to
// sink.
func (in *Input) Handler(sink input.Sink) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id identity
		if tt := in.tokens.Load(); tt != nil {
			var ok bool
			if id.source, ok = tt.source(bearer(r)); !ok {
				// The token itself is never logged.
				in.log.Info("ingest request without a valid token", "from", r.RemoteAddr)
				w.Header().Set("WWW-Authenticate", `Bearer realm="metlog ingest"`)
				reply(w, http.StatusUnauthorized, response{Error: "a valid ingest token is required: send Authorization: Bearer <token>"})
				return
			}
		}
		if r.TLS != nil {
			id.tlsClient = input.ClientName(r.TLS)
		}
		// The server's own timeouts stop at the headers (a read timeout
		// would end the router's live tail too): bound the body here.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(in.cfg.BodyTimeout.D()))
		body := io.Reader(http.MaxBytesReader(w, r.Body, in.cfg.MaxBodySize))
		switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
		case "", "identity":
		case "gzip":
			zr, err := gzip.NewReader(body)
			if err != nil {
				reply(w, http.StatusBadRequest, response{Error: "gzip: " + err.Error()})
				return
			}
			defer zr.Close()
			body = io.LimitReader(zr, in.cfg.MaxBodySize+1)
		default:
			reply(w, http.StatusUnsupportedMediaType, response{Error: fmt.Sprintf("unsupported Content-Encoding %q (want gzip or none)", enc)})
			return
		}
		data, err := io.ReadAll(body)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || int64(len(data)) > in.cfg.MaxBodySize {
			reply(w, http.StatusRequestEntityTooLarge, response{Error: fmt.Sprintf("body over %d bytes", in.cfg.MaxBodySize)})
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			reply(w, http.StatusRequestTimeout, response{Error: fmt.Sprintf("the body took over body_timeout (%v) to arrive", in.cfg.BodyTimeout.D())})
			return
		}
		if err != nil {
			reply(w, http.StatusBadRequest, response{Error: "reading the body: " + err.Error()})
			return
		}
		format, err := in.format(r.Header.Get("Content-Type"), data)
		if err != nil {
			reply(w, http.StatusUnsupportedMediaType, response{Error: err.Error()})
			return
		}
		msgs, res := in.decode(format, data, id)
		if len(msgs) > 0 && !in.limiter.Allow(input.SourceOfString(r.RemoteAddr), len(msgs)) {
			for range msgs {
				in.counters.Rejected(input.ReasonRateLimited)
			}
			w.Header().Set("Retry-After", "1")
			reply(w, http.StatusTooManyRequests, response{Error: fmt.Sprintf("%d messages are over this source's rate limit; nothing was stored", len(msgs))})
			return
		}
		if len(msgs) > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), in.cfg.FullTimeout.D())
			err := sink.Deliver(ctx, msgs, input.DeliverOptions{Durable: true})
			cancel()
			if err != nil {
				in.counters.Dropped(len(msgs))
				w.Header().Set("Retry-After", "1")
				reply(w, http.StatusServiceUnavailable, response{Error: "not acknowledged (the messages may be stored later all the same; send each with a uuid so that a retry cannot duplicate it): " + err.Error()})
				return
			}
			in.counters.Received(len(msgs), len(data))
		}
		res.Accepted = len(msgs)
		if res.Rejected > 0 {
			res.Error = fmt.Sprintf("%d of %d messages rejected; the others are stored", res.Rejected, res.Rejected+res.Accepted)
			reply(w, http.StatusBadRequest, res)
			return
		}
		reply(w, http.StatusOK, res)
	})
}

// format picks the decoder from the Content-Type, or from the first byte
// when there is none.
func (in *Input) format(contentType string, data []byte) (string, error) {
	// curl's default, and what a client that does not say sends.
	if contentType == "" || strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		if heka.LooksFramed(data) {
			return "heka", nil
		}
		return "json", nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("Content-Type %q: %v", contentType, err)
	}
	switch mt {
	case "application/json", "application/x-ndjson", "application/jsonl", "application/x-jsonlines", "text/plain":
		return "json", nil
	case "application/x-heka-stream", "application/octet-stream":
		return "heka", nil
	}
	return "", fmt.Errorf("unsupported Content-Type %q (want application/x-ndjson for metlog JSON lines or application/x-heka-stream)", mt)
}

// identity is what the input verified about a request's sender.
type identity struct {
	tlsClient, source string
}

// bearer returns the request's bearer token, or "".
func bearer(r *http.Request) string {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

func (in *Input) decode(format string, data []byte, id identity) ([]*metlog.Message, response) {
	var msgs []*metlog.Message
	var res response
	reject := func(i int, reason input.Reason, err error) {
		in.counters.Rejected(reason)
		res.Rejected++
		if len(res.Errors) < maxItemErrors {
			res.Errors = append(res.Errors, itemError{Index: i, Reason: reason.String(), Error: err.Error()})
		}
	}
	i := 0
	if format == "json" {
		dec := metlogjson.NewDecoder(bytes.NewReader(data))
		dec.Limits.MaxSize = in.cfg.MaxMessageSize
		for ; ; i++ {
			m := new(metlog.Message)
			err := dec.Decode(m)
			if errors.Is(err, io.EOF) {
				break
			}
			switch {
			case err != nil:
				reject(i, input.JSONReason(err), err)
			case in.dec.RequireSignature:
				reject(i, input.ReasonUnsigned, errors.New("metlog JSON carries no signature and this input requires one"))
			case !in.dec.Format.AcceptsJSON():
				reject(i, input.ReasonMalformed, errors.New("a JSON object, and this input's format is heka"))
			default:
				in.dec.Format.Lift(m)
				input.Identify(m, id.tlsClient, "")
				id.addSource(m)
				msgs = append(msgs, m)
			}
		}
		return msgs, res
	}
	rd := heka.NewReader(bytes.NewReader(data), in.cfg.MaxMessageSize)
	for ; ; i++ {
		rec, err := rd.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				reject(i, input.ReasonMalformed, err)
			}
			break
		}
		m := new(metlog.Message)
		if reason, err := in.dec.RecordFrom(rec, m, id.tlsClient); err != nil {
			reject(i, reason, err)
			continue
		}
		id.addSource(m)
		msgs = append(msgs, m)
	}
	if rd.Skipped() > 0 {
		reject(i, input.ReasonMalformed, fmt.Errorf("%d bytes between records are not records", rd.Skipped()))
	}
	return msgs, res
}

// addSource adds the token's source to m, which Identify has cleared of
// identity fields.
func (id identity) addSource(m *metlog.Message) {
	if id.source != "" {
		m.Fields = append(m.Fields, metlog.String(input.FieldSource, id.source))
	}
}

func reply(w http.ResponseWriter, status int, res response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(res)
}
