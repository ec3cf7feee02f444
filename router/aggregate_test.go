package router

import (
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/metlog/metlog"
)

// countConfig and counter are a minimal aggregator: every flush emits how
// many messages it was given since the last one.
type countConfig struct {
	Every string `toml:"every"`
}

type counter struct {
	every time.Duration
	n     int
}

func (c *counter) Add(*metlog.Message) { c.n++ }
func (c *counter) Flush(now time.Time, emit func(*metlog.Message)) {
	if c.n == 0 {
		return
	}
	emit(&metlog.Message{Timestamp: now.UnixNano(), Type: "count", Payload: strconv.Itoa(c.n)})
	c.n = 0
}
func (c *counter) FlushInterval() time.Duration { return c.every }

func TestAggregator(t *testing.T) {
	aggregatePlugins["count"] = aggregateOf(
		func() countConfig { return countConfig{Every: "20ms"} },
		func(c countConfig, _ *slog.Logger) (*counter, error) {
			d, err := time.ParseDuration(c.Every)
			return &counter{every: d}, err
		},
		func() string { return "" })
	defer delete(aggregatePlugins, "count")

	dir := t.TempDir()
	r := startRouter(t, `
[router]
data_dir = "`+dir+`"
http = ""
[input.udp]
address = "127.0.0.1:0"
[aggregate.count]
match = "TRUE"
[output.counts]
type = "file"
format = "metlog-json"
match = "Type == 'count'"
path = "`+filepath.Join(dir, "counts.json")+`"
`)
	c, _ := net.Dial("udp", r.InputAddr("udp").String())
	defer c.Close()
	const n = 200
	for i := range n {
		c.Write([]byte(`{"type": "hit"}`))
		if i%50 == 49 {
			waitFor(t, "adds", func() bool { return r.Status().Aggregates["count"].Matched == uint64(i+1) })
		}
	}
	waitFor(t, "the counts", func() bool {
		total := 0
		for _, m := range readJSONLines(t, filepath.Join(dir, "counts.json")) {
			k, _ := strconv.Atoi(m.Payload)
			total += k
			if f := m.Field(DerivedField); f == nil || f.Strings[0] != "count" {
				t.Fatalf("derived message without %s: %+v", DerivedField, m)
			}
		}
		return total == n
	})
	// The counts themselves were never fed back to the aggregator, though
	// its matcher accepts everything.
	waitFor(t, "a flush after the counts", func() bool { return r.Status().Aggregates["count"].LagRecords == 0 })
	st := r.Status().Aggregates["count"]
	if st.Matched != n || st.Emitted == 0 {
		t.Errorf("status %+v", st)
	}
}
