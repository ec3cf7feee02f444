// Package clickhouse answers the web API's queries from the ClickHouse
// table that the clickhouse output fills (see output/clickhouse for its
// schema), so that the web UI and /api/* can run over a warehouse instead
// of the embedded store, with the same results for the same queries.
//
// Each query is pushed down to ClickHouse as far as SQL can say it exactly
// (time ranges, headers, the metric name, UUIDs) and finished in Go where
// it cannot (regular expressions, most fields, whole-word search, metric
// and exception parsing), with the very code the router and the embedded
// store use, so results match the embedded store's. The differences are
// listed in docs/warehouse.md: messages with equal timestamps are ordered
// by UUID rather than arrival, cursors have their own form, and the first
// and last sightings of an exception group are taken over the queried range
// rather than over whole store partitions.
//
// Rows are read as RowBinary. A message delivered twice (the router
// delivers at least once) is in the table twice until ClickHouse merges
// the parts; every query here drops the copies by UUID.
package clickhouse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	chout "github.com/metlog/metlog/output/clickhouse"
)

// Store answers queries from a ClickHouse table. It is safe for concurrent
// use.
type Store struct {
	client *chout.Client
	table  string // `db`.`table`
	log    *slog.Logger
	now    func() int64
}

// New returns a Store over the table of cfg, the same table a clickhouse
// output with cfg writes.
func New(cfg chout.Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	c, err := chout.NewClient(cfg.URL, cfg.User, cfg.Password, cfg.Timeout.D())
	if err != nil {
		return nil, err
	}
	return &Store{client: c, table: "`" + cfg.Database + "`.`" + cfg.Table + "`", log: log, now: nowNS}, nil
}

// Close releases the store's idle connections.
func (s *Store) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// messageColumns are the columns a message is rebuilt from, in the order
// readMessage reads them.
const messageColumns = "uuid, timestamp, type, logger, severity, payload, env_version, pid, hostname, fields_proto"

// scan runs a SELECT of messageColumns from the table with the given
// WHERE clause and tail (ORDER BY, LIMIT), and calls fn with each message,
// in the order ClickHouse sends them, skipping a message whose UUID equals
// the one before it (a copy not yet merged away). fn returning false stops
// the scan. It returns the number of rows read, copies included.
func (s *Store) scan(ctx context.Context, where, tail string, fn func(*metlog.Message) bool) (int, error) {
	q := "SELECT " + messageColumns + " FROM " + s.table + " WHERE " + where + " " + tail + " FORMAT RowBinary"
	body, err := s.client.Query(ctx, q, nil, false)
	if err != nil {
		var ce *chout.Error
		if errors.As(err, &ce) {
			s.log.Debug("clickhouse query", "query", q, "err", err)
		}
		return 0, fmt.Errorf("store: clickhouse: %w", err)
	}
	defer body.Close()
	r := rowReader{r: bufio.NewReaderSize(body, 64<<10)}
	var prev metlog.UUID
	n := 0
	for {
		m, err := r.message()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("store: clickhouse: reading rows: %w", err)
		}
		n++
		if n > 1 && m.UUID == prev {
			continue
		}
		prev = m.UUID
		if !fn(m) {
			return n, nil
		}
	}
}

// rowReader decodes RowBinary rows of messageColumns.
type rowReader struct {
	r   *bufio.Reader
	buf []byte
}

var errShort = errors.New("row cut short")

func (r *rowReader) message() (*metlog.Message, error) {
	m := new(metlog.Message)
	if _, err := io.ReadFull(r.r, m.UUID[:]); err != nil {
		return nil, err // io.EOF at a row boundary is the end
	}
	ts, err := r.fixed(8)
	if err != nil {
		return nil, err
	}
	m.Timestamp = int64(ts)
	if m.Type, err = r.str(); err != nil {
		return nil, err
	}
	if m.Logger, err = r.str(); err != nil {
		return nil, err
	}
	sev, err := r.fixed(4)
	if err != nil {
		return nil, err
	}
	m.Severity = metlog.Severity(int32(uint32(sev)))
	if m.Payload, err = r.str(); err != nil {
		return nil, err
	}
	if m.EnvVersion, err = r.str(); err != nil {
		return nil, err
	}
	pid, err := r.fixed(4)
	if err != nil {
		return nil, err
	}
	m.Pid = int32(uint32(pid))
	if m.Hostname, err = r.str(); err != nil {
		return nil, err
	}
	proto, err := r.bytes()
	if err != nil {
		return nil, err
	}
	var fm metlog.Message
	if err := heka.Unmarshal(proto, &fm); err != nil {
		return nil, fmt.Errorf("fields of %s: %w", m.UUID, err)
	}
	m.Fields = fm.Fields
	return m, nil
}

func (r *rowReader) fixed(n int) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(r.r, b[:n]); err != nil {
		return 0, errShort
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func (r *rowReader) bytes() ([]byte, error) {
	n, err := binary.ReadUvarint(r.r)
	if err != nil || n > 1<<30 {
		return nil, errShort
	}
	if n > 1<<20 && uint64(cap(r.buf)) < n {
		// Grow with what arrives, not with what the length claims.
		var b bytes.Buffer
		if _, err := io.CopyN(&b, r.r, int64(n)); err != nil {
			return nil, errShort
		}
		r.buf = b.Bytes()
		return r.buf, nil
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		return nil, errShort
	}
	return r.buf, nil
}

func (r *rowReader) str() (string, error) {
	b, err := r.bytes()
	return string(b), err
}

// quote returns s as a ClickHouse string literal.
func quote(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\'' || c == '\\' {
			return fmt.Sprintf("unhex('%X')", s)
		}
	}
	return "'" + s + "'"
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// and joins SQL conditions with AND; none is "1".
func and(conds ...string) string {
	var out []string
	for _, c := range conds {
		if c != "" && c != "1" {
			out = append(out, "("+c+")")
		}
	}
	if len(out) == 0 {
		return "1"
	}
	return strings.Join(out, " AND ")
}

// timeRange is the condition from <= timestamp < to; 0 leaves a side
// open.
func timeRange(from, to int64) string {
	var c []string
	if from != 0 {
		c = append(c, "timestamp >= "+itoa(from))
	}
	if to != 0 {
		c = append(c, "timestamp < "+itoa(to))
	}
	return and(c...)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
