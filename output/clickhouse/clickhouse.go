// Package clickhouse is the warehouse output: it inserts messages into a
// ClickHouse table over ClickHouse's HTTP interface, in batches, creating
// the table when it starts.
//
// Rows are sent as INSERT … FORMAT RowBinary (no escaping, so any bytes in
// payloads and fields arrive as they were), gzip-compressed unless Gzip is
// off, in inserts of at most MaxInsertBytes of uncompressed rows; a batch
// larger than that is split into several inserts. A single message bigger
// than MaxInsertBytes is skipped, counted and logged. The schema is
// Columns, created by CreateTable; everything in it works with ClickHouse
// 18.16 (Debian's) and with current servers.
//
// Delivery is at least once: any failed insert is returned as a retryable
// error, the router retries the batch with backoff, and its journal cursor
// moves only once every insert of the batch succeeded. When a retry brings
// the same batch again, the inserts that already succeeded are not sent
// again. A message can still arrive twice (a router restart between an
// insert and the cursor commit); both copies have the same uuid and sorting
// key, and the ReplacingMergeTree engine keeps one of them when it merges.
package clickhouse

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [output.NAME] table of a clickhouse output.
type Config struct {
	// URL is ClickHouse's HTTP interface, such as http://127.0.0.1:8123/.
	URL string `toml:"url"`
	// User and Password authenticate with HTTP basic authentication; an
	// empty User is ClickHouse's "default" user.
	User     string `toml:"user"`
	Password string `toml:"password"`
	// Database and Table name the table messages go to.
	Database string `toml:"database"`
	Table    string `toml:"table"`
	// CreateTable creates the table (CREATE TABLE IF NOT EXISTS) before
	// the first insert.
	CreateTable bool `toml:"create_table"`
	// Timeout bounds each HTTP request.
	Timeout config.Duration `toml:"timeout"`
	// MaxInsertBytes is the most bytes of rows (uncompressed RowBinary)
	// one INSERT carries.
	MaxInsertBytes int `toml:"max_insert_bytes"`
	// Gzip compresses insert bodies.
	Gzip bool `toml:"gzip"`
	// MinInterval is the least time between the starts of two Writes.
	// The router hands over what the journal holds when a Write returns,
	// so a pause here gathers small batches into larger ones: ClickHouse
	// makes a part per insert and wants no more than about one insert a
	// second per table. 0 inserts at once.
	MinInterval config.Duration `toml:"min_interval"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		URL:            "http://127.0.0.1:8123/",
		Database:       "default",
		Table:          "metlog",
		CreateTable:    true,
		Timeout:        config.Duration(30 * time.Second),
		MaxInsertBytes: 16 << 20,
		Gzip:           true,
		MinInterval:    config.Duration(time.Second),
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url %q: want http://host:port/ or https://host:port/", c.URL))
	}
	if !validIdent(c.Database) {
		errs = append(errs, fmt.Errorf("database %q: use letters, digits and '_', not starting with a digit", c.Database))
	}
	if !validIdent(c.Table) {
		errs = append(errs, fmt.Errorf("table %q: use letters, digits and '_', not starting with a digit", c.Table))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout must be positive"))
	}
	if c.MinInterval < 0 {
		errs = append(errs, errors.New("min_interval must not be negative"))
	}
	if c.MaxInsertBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_insert_bytes %d: want at least 1024", c.MaxInsertBytes))
	}
	return errors.Join(errs...)
}

// Client runs queries over ClickHouse's HTTP interface. It is safe for
// concurrent use.
type Client struct {
	base     *url.URL
	user     string
	password string
	http     *http.Client
}

// NewClient returns a client of the server at rawURL, authenticating as
// user (none when empty), with each request bounded by timeout.
func NewClient(rawURL, user, password string, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", rawURL, err)
	}
	return &Client{base: u, user: user, password: password, http: &http.Client{Timeout: timeout}}, nil
}

// Error is an error ClickHouse answered a query with.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is ClickHouse's error code ("Code: 60"), or 0 when the answer
	// did not carry one.
	Code int
	// Text is the start of the answer's body.
	Text string
}

func (e *Error) Error() string {
	return fmt.Sprintf("clickhouse: status %d: %s", e.Status, e.Text)
}

// Error codes the package acts on.
const (
	codeUnknownTable    = 60
	codeUnknownDatabase = 81
)

// Query runs query with body (nil for none) as the request body, and
// returns the answer's body for the caller to read and close. gzipped says
// body is gzip-compressed. A non-200 answer is an *Error.
func (c *Client) Query(ctx context.Context, query string, body io.Reader, gzipped bool) (io.ReadCloser, error) {
	u := *c.base
	q := u.Query()
	q.Set("query", query)
	u.RawQuery = q.Encode()
	if body == nil {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return nil, err
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		e := &Error{Status: resp.StatusCode, Text: strings.TrimSpace(string(text))}
		fmt.Sscanf(e.Text, "Code: %d", &e.Code)
		return nil, e
	}
	return resp.Body, nil
}

// CloseIdleConnections closes the client's idle connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Exec runs query, with body (nil for none; gzipped as in Query), and
// discards its answer.
func (c *Client) Exec(ctx context.Context, query string, body io.Reader, gzipped bool) error {
	out, err := c.Query(ctx, query, body, gzipped)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, out)
	out.Close()
	return err
}

// Stats are an output's running totals.
type Stats struct {
	// Rows is the number of messages inserted.
	Rows uint64
	// Inserts is the number of INSERT requests that succeeded.
	Inserts uint64
	// Bytes is the uncompressed size of the rows inserted.
	Bytes uint64
	// Oversize counts messages skipped for being larger than
	// MaxInsertBytes on their own.
	Oversize uint64
}

// Output inserts batches into ClickHouse. It is safe for concurrent use,
// though the router calls Write from one goroutine.
type Output struct {
	cfg    Config
	log    *slog.Logger
	client *Client
	insert string

	rows, inserts, bytes, oversize atomic.Uint64

	mu      sync.Mutex
	created bool
	last    time.Time // when the last Write began
	enc     rowEncoder
	buf     []byte
	zbuf    bytes.Buffer
	zw      *gzip.Writer
	// done records how far a batch got when one of its inserts failed, so
	// that its retry skips the inserts that succeeded.
	done progress
}

// progress identifies a batch by its length and first and last messages,
// and counts the messages of it already inserted.
type progress struct {
	n           int
	first, last metlog.UUID
	inserted    int
}

func (p *progress) same(batch []*metlog.Message) bool {
	return p.inserted > 0 && len(batch) == p.n &&
		batch[0].UUID == p.first && batch[len(batch)-1].UUID == p.last
}

// New prepares the output; it talks to ClickHouse on the first Write.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	c, err := NewClient(cfg.URL, cfg.User, cfg.Password, cfg.Timeout.D())
	if err != nil {
		return nil, err
	}
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return &Output{cfg: cfg, log: log, client: c, zw: zw,
		insert: fmt.Sprintf("INSERT INTO `%s`.`%s` (%s) FORMAT RowBinary", cfg.Database, cfg.Table, columnList())}, nil
}

// Stats returns the output's running totals.
func (o *Output) Stats() Stats {
	return Stats{Rows: o.rows.Load(), Inserts: o.inserts.Load(), Bytes: o.bytes.Load(), Oversize: o.oversize.Load()}
}

// Write inserts the batch, in as many inserts as MaxInsertBytes requires.
// It returns once ClickHouse has accepted every row.
func (o *Output) Write(ctx context.Context, batch []*metlog.Message) error {
	if len(batch) == 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if wait := time.Until(o.last.Add(o.cfg.MinInterval.D())); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	o.last = time.Now()
	if err := o.ensureTable(ctx); err != nil {
		return err
	}
	start := 0
	if o.done.same(batch) {
		start = o.done.inserted
	}
	o.done = progress{n: len(batch), first: batch[0].UUID, last: batch[len(batch)-1].UUID}
	buf := o.buf[:0]
	rows, from := 0, start // rows in buf; index of the first message not yet inserted
	for i := start; i < len(batch); i++ {
		n := len(buf)
		buf = o.enc.appendRow(buf, batch[i])
		if size := len(buf) - n; size > o.cfg.MaxInsertBytes {
			buf = buf[:n]
			o.oversize.Add(1)
			o.log.Warn("message larger than max_insert_bytes skipped", "uuid", batch[i].UUID.String(),
				"bytes", size, "max_insert_bytes", o.cfg.MaxInsertBytes)
			continue
		}
		if len(buf) > o.cfg.MaxInsertBytes {
			// The new row does not fit: send the rows before it.
			row := append([]byte(nil), buf[n:]...)
			if err := o.send(ctx, buf[:n], rows); err != nil {
				o.buf = buf[:0]
				o.done.inserted = from
				return err
			}
			from = i
			buf = append(buf[:0], row...)
			rows = 0
		}
		rows++
	}
	o.buf = buf[:0]
	if rows > 0 {
		if err := o.send(ctx, buf, rows); err != nil {
			o.done.inserted = from
			return err
		}
	}
	o.done = progress{}
	return nil
}

// send runs one INSERT of rows RowBinary rows.
func (o *Output) send(ctx context.Context, rows []byte, n int) error {
	var body io.Reader = bytes.NewReader(rows)
	if o.cfg.Gzip {
		o.zbuf.Reset()
		o.zw.Reset(&o.zbuf)
		o.zw.Write(rows)
		if err := o.zw.Close(); err != nil {
			return err
		}
		body = bytes.NewReader(o.zbuf.Bytes())
	}
	err := o.client.Exec(ctx, o.insert, body, o.cfg.Gzip)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && (ce.Code == codeUnknownTable || ce.Code == codeUnknownDatabase) {
			o.created = false // dropped while we ran: create it again on the retry
		}
		return fmt.Errorf("insert %d rows into %s.%s: %w", n, o.cfg.Database, o.cfg.Table, err)
	}
	o.rows.Add(uint64(n))
	o.inserts.Add(1)
	o.bytes.Add(uint64(len(rows)))
	return nil
}

// ensureTable creates the table once, when CreateTable is set.
func (o *Output) ensureTable(ctx context.Context) error {
	if o.created || !o.cfg.CreateTable {
		return nil
	}
	if o.cfg.Database != "default" {
		if err := o.client.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+o.cfg.Database+"`", nil, false); err != nil {
			return fmt.Errorf("create database %s: %w", o.cfg.Database, err)
		}
	}
	if err := o.client.Exec(ctx, CreateTable(o.cfg.Database, o.cfg.Table), nil, false); err != nil {
		return fmt.Errorf("create table %s.%s: %w", o.cfg.Database, o.cfg.Table, err)
	}
	o.created = true
	return nil
}

// Close releases idle connections.
func (o *Output) Close() error {
	o.client.CloseIdleConnections()
	return nil
}
