package clickhouse

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/codec/metlogjson"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output/clickhouse/clickhousetest"
	"github.com/metlog/metlog/output/outputtest"
)

var quiet = slog.New(slog.DiscardHandler)

// corpus returns the metlog-py captures of testdata/metlog-py and messages
// with what JSON cannot carry: bytes, NaN and infinite doubles, invalid
// UTF-8, timestamps before 1970, representations, repeated names.
func corpus(t testing.TB) []*metlog.Message {
	t.Helper()
	files, err := filepath.Glob("testdata/metlog-py/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in testdata/metlog-py: %v", err)
	}
	slices.Sort(files)
	var out []*metlog.Message
	base := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := metlogjson.Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m.UUID = metlog.NewUUIDAt(base.Add(time.Duration(i) * time.Second))
		out = append(out, m)
	}
	odd := []*metlog.Message{
		{Timestamp: base.UnixNano() + 123456789, Type: "bin", Payload: "\x00\xff\x1e\n\t\\'\"", Severity: -1, Pid: -7,
			Fields: []metlog.Field{
				metlog.Bytes("blob", []byte{0, 1, 2, 0xff}),
				metlog.Floats("d", math.NaN(), math.Inf(1), math.Inf(-1), -0.5),
				metlog.String("name", "x").WithRepresentation("ms"),
				metlog.String("name", "\xc3\x28 invalid"),
				metlog.Ints("n", math.MinInt64, math.MaxInt64),
				metlog.Bools("b", true, false),
				metlog.Strings("empty"),
			}},
		{Timestamp: -1_500_000_001, Type: "old", Logger: "past"},
		{Timestamp: 0, Type: "", Fields: []metlog.Field{metlog.String("headers.path", "/a"), metlog.String("headers.q", "1")}},
	}
	for i, m := range odd {
		m.UUID = metlog.NewUUIDAt(base.Add(time.Duration(100+i) * time.Second))
	}
	return append(out, odd...)
}

// row is a row as the test reads it back, every string column in hex.
type row struct {
	UUID       string   `json:"uuid"`
	Time       uint32   `json:"time"`
	Timestamp  string   `json:"timestamp"`
	Type       string   `json:"type"`
	Logger     string   `json:"logger"`
	Severity   int32    `json:"severity"`
	Payload    string   `json:"payload"`
	EnvVersion string   `json:"env_version"`
	Pid        int32    `json:"pid"`
	Hostname   string   `json:"hostname"`
	Fields     string   `json:"fields"`
	StringKeys []string `json:"string_keys"`
	IntKeys    []string `json:"int_keys"`
	IntValues  []string `json:"int_values"`
	BoolValues []uint8  `json:"bool_values"`
	Proto      string   `json:"fields_proto"`
}

const selectRows = "SELECT hex(uuid) AS uuid, toUInt32(time) AS time, timestamp, hex(type) AS type, hex(logger) AS logger, severity, " +
	"hex(payload) AS payload, hex(env_version) AS env_version, pid, hex(hostname) AS hostname, hex(fields) AS fields, " +
	"string_keys, int_keys, int_values, bool_values, hex(fields_proto) AS fields_proto FROM %s ORDER BY timestamp, uuid FORMAT JSONEachRow"

func readRows(t *testing.T, c *Client, table string) []row {
	t.Helper()
	body, err := c.Query(context.Background(), fmt.Sprintf(selectRows, table), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	var out []row
	dec := json.NewDecoder(body)
	for dec.More() {
		var r row
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func hexOf(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) }

func newOutput(t *testing.T, url string, edit func(*Config)) *Output {
	t.Helper()
	cfg := Defaults()
	cfg.URL = url
	cfg.MinInterval = 0
	if edit != nil {
		edit(&cfg)
	}
	o, err := New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func query(t *testing.T, c *Client, q string) string {
	t.Helper()
	body, err := c.Query(context.Background(), q, nil, false)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestServer runs the output against a real clickhouse-server.
func TestServer(t *testing.T) {
	srv := clickhousetest.Start(t)
	c, err := NewClient(srv.URL, "", "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		for _, gz := range []bool{true, false} {
			table := fmt.Sprintf("roundtrip_gzip_%v", gz)
			o := newOutput(t, srv.URL, func(c *Config) { c.Table = table; c.Gzip = gz; c.Database = "metlog_test" })
			msgs := corpus(t)
			if err := o.Write(ctx, msgs); err != nil {
				t.Fatal(err)
			}
			if st := o.Stats(); st.Rows != uint64(len(msgs)) || st.Inserts != 1 {
				t.Errorf("stats %+v, want %d rows in 1 insert", st, len(msgs))
			}
			rows := readRows(t, c, "metlog_test."+table)
			want := slices.Clone(msgs)
			slices.SortFunc(want, func(a, b *metlog.Message) int {
				if a.Timestamp != b.Timestamp {
					return cmpInt(a.Timestamp, b.Timestamp)
				}
				return bytes.Compare(a.UUID[:], b.UUID[:])
			})
			if len(rows) != len(want) {
				t.Fatalf("%d rows, want %d", len(rows), len(want))
			}
			for i, r := range rows {
				m := want[i]
				checkRow(t, r, m)
			}
		}
	})

	t.Run("Queryable", func(t *testing.T) {
		o := newOutput(t, srv.URL, func(c *Config) { c.Table = "queryable" })
		if err := o.Write(ctx, corpus(t)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ sql, want string }{
			{"SELECT count() FROM queryable WHERE has(string_keys, 'name') AND string_values[indexOf(string_keys, 'name')] = 'x'", "1"},
			{"SELECT arraySum(int_values) FROM queryable WHERE type = 'bin'", "-1"},
			{"SELECT toString(arrayElement(float_values, 4)) FROM queryable WHERE type = 'bin'", "-0.5"},
			{"SELECT visitParamExtractString(visitParamExtractRaw(fields, 'headers'), 'path') FROM queryable WHERE timestamp = 0", "/a"},
			{"SELECT toUInt32(time) FROM queryable WHERE logger = 'past'", "0"},
			{"SELECT count() FROM queryable WHERE name = 'x'", "1"},
			{"SELECT count() FROM queryable WHERE type = 'counter' AND name IS NULL", "0"},
		} {
			if got := query(t, c, tc.sql); got != tc.want {
				t.Errorf("%s = %q, want %q", tc.sql, got, tc.want)
			}
		}
	})

	t.Run("SplitAndOversize", func(t *testing.T) {
		o := newOutput(t, srv.URL, func(c *Config) { c.Table = "split"; c.MaxInsertBytes = 4096 })
		msgs := corpus(t) // holds a 60000-byte payload
		big := 0
		var enc rowEncoder
		for _, m := range msgs {
			if len(enc.appendRow(nil, m)) > 4096 {
				big++
			}
		}
		if err := o.Write(ctx, msgs); err != nil {
			t.Fatal(err)
		}
		st := o.Stats()
		if big == 0 || st.Oversize != uint64(big) || st.Rows != uint64(len(msgs)-big) || st.Inserts < 2 {
			t.Errorf("stats %+v, want %d oversize, %d rows in several inserts", st, big, len(msgs)-big)
		}
		if got := query(t, c, "SELECT count() FROM split"); got != fmt.Sprint(len(msgs)-big) {
			t.Errorf("%s rows, want %d", got, len(msgs)-big)
		}
	})

	t.Run("Dedupe", func(t *testing.T) {
		o := newOutput(t, srv.URL, func(c *Config) { c.Table = "dedupe" })
		msgs := corpus(t)
		for range 2 {
			if err := o.Write(ctx, msgs); err != nil {
				t.Fatal(err)
			}
		}
		if got := query(t, c, "SELECT uniqExact(uuid) FROM dedupe"); got != fmt.Sprint(len(msgs)) {
			t.Errorf("uniqExact(uuid) = %s, want %d", got, len(msgs))
		}
		query(t, c, "OPTIMIZE TABLE dedupe FINAL")
		if got := query(t, c, "SELECT count() FROM dedupe"); got != fmt.Sprint(len(msgs)) {
			t.Errorf("after OPTIMIZE FINAL, %s rows, want %d", got, len(msgs))
		}
	})

	t.Run("TableDropped", func(t *testing.T) {
		o := newOutput(t, srv.URL, func(c *Config) { c.Table = "dropped" })
		msgs := corpus(t)
		if err := o.Write(ctx, msgs[:3]); err != nil {
			t.Fatal(err)
		}
		query(t, c, "DROP TABLE dropped")
		if err := o.Write(ctx, msgs[3:]); err == nil {
			t.Fatal("insert into a dropped table succeeded")
		}
		if err := o.Write(ctx, msgs[3:]); err != nil {
			t.Fatalf("retry did not create the table again: %v", err)
		}
		if got := query(t, c, "SELECT count() FROM dropped"); got != fmt.Sprint(len(msgs)-3) {
			t.Errorf("%s rows, want %d", got, len(msgs)-3)
		}
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func checkRow(t *testing.T, r row, m *metlog.Message) {
	t.Helper()
	secs := max(0, int64(math.Floor(float64(m.Timestamp)/1e9)))
	want := row{
		UUID: strings.ToUpper(hex.EncodeToString(m.UUID[:])), Time: uint32(secs), Timestamp: fmt.Sprint(m.Timestamp),
		Type: hexOf(m.Type), Logger: hexOf(m.Logger), Severity: int32(m.Severity), Payload: hexOf(m.Payload),
		EnvVersion: hexOf(m.EnvVersion), Pid: m.Pid, Hostname: hexOf(m.Hostname),
		Fields: hexOf(string(AppendFieldsJSON(nil, m.Fields))), Proto: r.Proto,
		StringKeys: []string{}, IntKeys: []string{}, IntValues: []string{}, BoolValues: []uint8{},
	}
	for _, f := range m.Fields {
		for i := range f.Len() {
			switch f.Type {
			case metlog.TypeString, metlog.TypeBytes:
				want.StringKeys = append(want.StringKeys, f.Name)
			case metlog.TypeInteger:
				want.IntKeys = append(want.IntKeys, f.Name)
				want.IntValues = append(want.IntValues, fmt.Sprint(f.Integers[i]))
			case metlog.TypeBool:
				b := uint8(0)
				if f.Bools[i] {
					b = 1
				}
				want.BoolValues = append(want.BoolValues, b)
			}
		}
	}
	gotJSON, _ := json.Marshal(r)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("row of %s:\n got %s\nwant %s", m.UUID, gotJSON, wantJSON)
	}
	proto, err := hex.DecodeString(r.Proto)
	if err != nil {
		t.Fatal(err)
	}
	var back metlog.Message
	if err := heka.Unmarshal(proto, &back); err != nil {
		t.Fatalf("fields_proto of %s: %v", m.UUID, err)
	}
	if len(back.Fields) != len(m.Fields) {
		t.Fatalf("fields_proto of %s: %d fields, want %d", m.UUID, len(back.Fields), len(m.Fields))
	}
	for i := range m.Fields {
		if !back.Fields[i].Equal(&m.Fields[i]) {
			t.Errorf("fields_proto of %s: field %d is %+v, want %+v", m.UUID, i, back.Fields[i], m.Fields[i])
		}
	}
}

// fakeServer answers inserts, failing those that fail says to, and keeps
// the rows (decompressed) of each insert it accepted.
type fakeServer struct {
	mu      sync.Mutex
	fail    func(n int) bool // n counts inserts from 0
	n       int
	bodies  [][]byte
	queries []string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query().Get("query")
	f.queries = append(f.queries, q)
	if !strings.HasPrefix(q, "INSERT") {
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	n := f.n
	f.n++
	if f.fail != nil && f.fail(n) {
		http.Error(w, "Code: 252, e.displayText() = DB::Exception: Too many parts", 500)
		return
	}
	f.bodies = append(f.bodies, b)
}

// TestRetrySkipsInserted checks that a retried batch does not send again
// the inserts that succeeded before one failed.
func TestRetrySkipsInserted(t *testing.T) {
	fake := &fakeServer{fail: func(n int) bool { return n == 2 }}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	o := newOutput(t, srv.URL, func(c *Config) { c.MaxInsertBytes = 1024 })
	var msgs []*metlog.Message
	for i := range 40 {
		msgs = append(msgs, &metlog.Message{UUID: metlog.NewUUID(), Timestamp: int64(i), Type: "t", Payload: strings.Repeat("x", 100)})
	}
	err := o.Write(context.Background(), msgs)
	var ce *Error
	if err == nil || !asError(err, &ce) || ce.Code != 252 || ce.Status != 500 {
		t.Fatalf("Write = %v, want the server's error", err)
	}
	if err := o.Write(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	var all []byte
	var enc rowEncoder
	for _, m := range msgs {
		all = enc.appendRow(all, m)
	}
	if got := bytes.Join(fake.bodies, nil); !bytes.Equal(got, all) {
		t.Errorf("the accepted inserts carry %d bytes, want each row once (%d bytes)", len(got), len(all))
	}
	if len(fake.bodies) < 4 {
		t.Errorf("%d inserts, want the batch split", len(fake.bodies))
	}
	if !strings.HasPrefix(fake.queries[0], "CREATE TABLE IF NOT EXISTS `default`.`metlog`") {
		t.Errorf("first query %q, want CREATE TABLE", fake.queries[0])
	}
	if st := o.Stats(); st.Rows != 40 {
		t.Errorf("stats %+v, want 40 rows", st)
	}
}

// TestMinInterval checks that Writes are spaced by MinInterval, and that
// a Write waiting for its turn gives up when its context ends.
func TestMinInterval(t *testing.T) {
	srv := httptest.NewServer(&fakeServer{})
	defer srv.Close()
	o := newOutput(t, srv.URL, func(c *Config) { c.MinInterval = config.Duration(200 * time.Millisecond) })
	batch := []*metlog.Message{{UUID: metlog.NewUUID(), Type: "t"}}
	start := time.Now()
	for range 2 {
		if err := o.Write(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("two writes took %v, want at least min_interval", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Write(ctx, batch); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a cancelled context = %v, want context.Canceled", err)
	}
}

func asError(err error, target **Error) bool {
	for err != nil {
		if e, ok := err.(*Error); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, ""},
		{"url", func(c *Config) { c.URL = "127.0.0.1:8123" }, "url"},
		{"table", func(c *Config) { c.Table = "a-b" }, "table"},
		{"database", func(c *Config) { c.Database = "1x" }, "database"},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "timeout"},
		{"max insert", func(c *Config) { c.MaxInsertBytes = 10 }, "max_insert_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.edit(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSample(t *testing.T) {
	outputtest.CheckSample(t, "clickhouse", Sample(), Defaults)
}
