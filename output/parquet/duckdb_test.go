package parquet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/internal/testenv"
	"github.com/metlog/metlog/output/outputtest"
)

// duckDB runs queries with DuckDB from node (testdata/query.cjs) and
// returns the rows of each.
func duckDB(t testing.TB, queries ...string) [][]map[string]any {
	t.Helper()
	node, api := testenv.Node(t), testenv.NodeModule(t, "@duckdb/node-api")
	in, _ := json.Marshal(queries)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/query.cjs", api)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, stderr.String())
	}
	var res [][]map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("duckdb output: %v\n%s", err, out)
	}
	return res
}

// scan is the table function over an output directory.
func scan(dir string) string {
	return fmt.Sprintf("read_parquet('%s/**/*.parquet', hive_partitioning = true)", dir)
}

func TestDuckDB(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxFileSize = 64 << 10 // several files a partition
	o := newOutput(t, cfg)
	msgs := outputtest.ReadMessages(t, "testdata/messages.jsonl")
	msgs = append(msgs, gen(1500, t0.Add(-30*time.Minute), "timer", "counter", "app/x y")...)
	for i := 0; i < len(msgs); i += 250 {
		write(t, o, msgs[i:min(i+250, len(msgs))])
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	type group struct{ typ, date, hour string }
	want := make(map[group]int)
	byUUID := make(map[string]*metlog.Message)
	for _, m := range msgs {
		ts := m.Time()
		want[group{m.Type, ts.Format("2006-01-02"), ts.Format("15")}]++
		byUUID[m.UUID.String()] = m
	}

	res := duckDB(t,
		"SELECT coalesce(type, '') AS type, date::VARCHAR AS date, hour, count(*)::INTEGER AS n FROM "+scan(dir)+" GROUP BY ALL ORDER BY ALL",
		`SELECT uuid, type, epoch_us(timestamp)::VARCHAR AS us, logger, severity, payload, env_version, pid,
			hostname, fields_json::VARCHAR AS fields_json, fields['name'] AS name, fields['i'] AS i,
			json_extract(fields_json, '$.i')::BIGINT AS ji
		 FROM `+scan(dir),
		"SELECT count(DISTINCT filename)::INTEGER AS n FROM read_parquet('"+dir+"/**/*.parquet', filename = true)",
		`SELECT fields['headers.path'] AS path, json_extract_string(fields_json, '$."headers.path"') AS jpath,
			fields['headers.ua'] AS ua, fields['big'] AS big, logger, hostname
		 FROM `+scan(dir)+` WHERE type = 'app/weird type=1'`,
	)

	got := make(map[group]int)
	for _, r := range res[0] {
		got[group{r["type"].(string), r["date"].(string), r["hour"].(string)}] = int(r["n"].(float64))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts by type, date, hour:\n got %v\nwant %v", got, want)
	}

	if len(res[1]) != len(msgs) {
		t.Fatalf("DuckDB read %d rows, want %d", len(res[1]), len(msgs))
	}
	for _, r := range res[1] {
		m := byUUID[r["uuid"].(string)]
		if m == nil {
			t.Fatalf("unknown uuid %v", r["uuid"])
		}
		var w row
		w.fill(m, nil)
		typ, _ := r["type"].(string) // NULL for the empty type
		if typ != m.Type || r["us"] != fmt.Sprint(floorDiv(m.Timestamp, 1000)) || r["logger"] != m.Logger ||
			r["severity"] != float64(m.Severity) || r["payload"] != m.Payload || r["env_version"] != m.EnvVersion ||
			r["pid"] != float64(m.Pid) || r["hostname"] != m.Hostname || r["fields_json"] != w.FieldsJSON ||
			nullable(r["name"]) != w.Fields["name"] {
			t.Errorf("row %s:\n got %v\nwant %+v", m.UUID, r, w)
		}
		if f := m.Field("i"); f != nil && (r["i"] != fmt.Sprint(f.Integers[0]) || r["ji"] != fmt.Sprint(f.Integers[0])) {
			t.Errorf("row %s: fields['i'] = %v, json $.i = %v; want %d", m.UUID, r["i"], r["ji"], f.Integers[0])
		}
	}

	if n := int(res[2][0]["n"].(float64)); n != len(files(t, dir)) || n < 6 {
		t.Errorf("DuckDB read %d files, %d on disk", n, len(files(t, dir)))
	}

	wantWeird := map[string]any{"path": "/café", "jpath": "/café", "ua": `["a","b"]`,
		"big": "123456789012345678901234567890", "logger": "日本", "hostname": "hôte"}
	if len(res[3]) != 1 || fmt.Sprint(res[3][0]) != fmt.Sprint(wantWeird) {
		t.Errorf("nested fields: got %v, want %v", res[3], wantWeird)
	}
}

func nullable(v any) string {
	s, _ := v.(string)
	return s
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// TestDuckDBTempFilesHidden checks that files being written are invisible
// to a reader globbing the tree for Parquet files. (Engines of the Hive
// family also skip the inflight directory for its leading dot; DuckDB does
// not, but its files do not end in .parquet.)
func TestDuckDBTempFilesHidden(t *testing.T) {
	dir := t.TempDir()
	o := newOutput(t, testConfig(dir))
	write(t, o, gen(10, t0, "open"))
	closed := t.TempDir()
	o2 := newOutput(t, testConfig(closed))
	write(t, o2, gen(3, t0, "closed"))
	o2.Close()
	// Put the closed file beside the open one, so that the glob matches.
	fs := files(t, closed)
	dst := filepath.Join(dir, fs[0])
	os.MkdirAll(filepath.Dir(dst), 0o750)
	if err := os.Rename(filepath.Join(closed, fs[0]), dst); err != nil {
		t.Fatal(err)
	}
	res := duckDB(t, "SELECT count(*)::INTEGER AS n, count(DISTINCT filename)::INTEGER AS f FROM read_parquet('"+dir+"/**/*.parquet', hive_partitioning = true, filename = true)")
	if n := res[0][0]["n"]; n != float64(3) {
		t.Errorf("DuckDB read %v rows, want only the 3 of the closed file", n)
	}
	if strings.Contains(fmt.Sprint(res), inflightDir) {
		t.Errorf("DuckDB read the inflight directory: %v", res)
	}
}
