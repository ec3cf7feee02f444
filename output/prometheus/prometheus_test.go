package prometheus

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output/outputtest"
)

var update = flag.Bool("update", false, "rewrite the want.txt files of testdata/cases")

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func newOutput(t testing.TB, cfg Config) *Output {
	t.Helper()
	o, err := New(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// scrape returns the text exposition the handler serves.
func scrape(t testing.TB, o *Output) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", o.Pattern(), nil)
	req.Header.Set("Accept", "text/plain")
	o.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// TestCases writes each testdata/cases/NAME/in.jsonl as one batch and
// compares the scrape that follows, and the stats, with want.txt.
func TestCases(t *testing.T) {
	outputtest.Cases(t, *update, func(t *testing.T, batch []*metlog.Message) string {
		cfg := Defaults()
		cfg.HostnameLabel = "host"
		o := newOutput(t, cfg)
		if err := o.Write(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		st := o.Stats()
		return scrape(t, o) + fmt.Sprintf("# updates=%d skipped=%d invalid=%d series=%d\n",
			st.Updates, st.Skipped, st.Invalid, st.Series)
	})
}

func counter(name, logger string, v string) *metlog.Message {
	return &metlog.Message{Type: "counter", Logger: logger, Payload: v,
		Fields: []metlog.Field{metlog.String("name", name)}}
}

func TestConfigVariants(t *testing.T) {
	m := &metlog.Message{Type: "counter", Logger: "app", Hostname: "h1", Payload: "1",
		Fields: []metlog.Field{metlog.String("name", "hits"), metlog.String("region", "eu")}}
	for _, tc := range []struct {
		set  func(*Config)
		want string
	}{
		{func(*Config) {}, `hits_total{logger="app",region="eu"} 1`},
		{func(c *Config) { c.Namespace = "web" }, `web_hits_total{logger="app",region="eu"} 1`},
		{func(c *Config) { c.LoggerLabel = "" }, `hits_total{region="eu"} 1`},
		{func(c *Config) { c.Tags = false }, `hits_total{logger="app"} 1`},
		{func(c *Config) { c.HostnameLabel, c.LoggerLabel = "instance_host", "app" },
			`hits_total{app="app",instance_host="h1",region="eu"} 1`},
	} {
		cfg := Defaults()
		tc.set(&cfg)
		o := newOutput(t, cfg)
		o.Write(context.Background(), []*metlog.Message{m})
		if got := scrape(t, o); !strings.Contains(got, "\n"+tc.want+"\n") {
			t.Errorf("want %s in\n%s", tc.want, got)
		}
	}
}

func TestSummary(t *testing.T) {
	cfg := Defaults()
	cfg.Timers = "summary"
	cfg.Quantiles = []float64{0.5, 0.99}
	o := newOutput(t, cfg)
	var batch []*metlog.Message
	for i := 1; i <= 100; i++ {
		batch = append(batch, &metlog.Message{Type: "timer", Logger: "app", Payload: fmt.Sprint(i * 10),
			Fields: []metlog.Field{metlog.String("name", "db_query"), metlog.String("le", "x")}})
	}
	// Sampled at 0.5: counts twice.
	batch = append(batch, &metlog.Message{Type: "timer", Logger: "app", Payload: "5000",
		Fields: []metlog.Field{metlog.String("name", "db_query"), metlog.String("le", "x"), metlog.Float("rate", 0.5)}})
	o.Write(context.Background(), batch)
	got := scrape(t, o)
	var median float64
	if _, err := fmt.Sscanf(got[strings.Index(got, `quantile="0.5"}`)+len(`quantile="0.5"}`):], "%g", &median); err != nil || median < 0.45 || median > 0.55 {
		t.Errorf("median %v (%v), want 0.5 ± 0.05", median, err)
	}
	for _, want := range []string{
		"# TYPE db_query_seconds summary\n",
		`db_query_seconds{logger="app",tag_le="x",quantile="0.99"} 5` + "\n",
		`db_query_seconds_sum{logger="app",tag_le="x"} 60.5` + "\n",
		`db_query_seconds_count{logger="app",tag_le="x"} 102` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
}

func TestHistogramBuckets(t *testing.T) {
	cfg := Defaults()
	cfg.Buckets = []float64{0.1, 1}
	o := newOutput(t, cfg)
	for _, ms := range []string{"50", "100", "100.5", "1000", "5000"} {
		o.Write(context.Background(), []*metlog.Message{{Type: "timer", Payload: ms,
			Fields: []metlog.Field{metlog.String("name", "t"), metlog.Float("rate", 0.001/2)}}})
	}
	got := scrape(t, o)
	// A rate of 0.0005 counts each observation maxWeight (1000) times.
	for _, want := range []string{
		`t_seconds_bucket{le="0.1"} 2000`, `t_seconds_bucket{le="1"} 4000`, `t_seconds_bucket{le="+Inf"} 5000`,
		`t_seconds_sum 6250.5`, `t_seconds_count 5000`,
	} {
		if !strings.Contains(got, "\n"+want+"\n") {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
}

func TestExpiry(t *testing.T) {
	cfg := Defaults()
	cfg.ExpireAfter = config.Duration(time.Minute)
	o := newOutput(t, cfg)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o.now = func() time.Time { return clock }
	o.Write(context.Background(), []*metlog.Message{counter("old", "app", "1"), counter("kept", "app", "1")})
	clock = clock.Add(50 * time.Second)
	o.Write(context.Background(), []*metlog.Message{counter("kept", "app", "1")})
	clock = clock.Add(20 * time.Second)
	got := scrape(t, o)
	if strings.Contains(got, "old_total") || !strings.Contains(got, `kept_total{logger="app"} 2`) {
		t.Errorf("after expiry:\n%s", got)
	}
	if st := o.Stats(); st.Expired != 1 || st.Series != 1 {
		t.Errorf("stats %+v", st)
	}
	// An expired name is free for another kind.
	o.Write(context.Background(), []*metlog.Message{{Type: "gauge", Payload: "3",
		Fields: []metlog.Field{metlog.String("name", "old_total")}}})
	if got := scrape(t, o); !strings.Contains(got, "\nold_total 3\n") {
		t.Errorf("gauge after expiry:\n%s", got)
	}
}

func TestMaxSeries(t *testing.T) {
	cfg := Defaults()
	cfg.MaxSeries = 2
	cfg.ExpireAfter = config.Duration(time.Minute)
	o := newOutput(t, cfg)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o.now = func() time.Time { return clock }
	o.Write(context.Background(), []*metlog.Message{counter("a", "", "1"), counter("b", "", "1"),
		counter("c", "", "1"), counter("a", "", "1")})
	if st := o.Stats(); st.Dropped != 1 || st.Series != 2 || st.Updates != 3 {
		t.Errorf("stats %+v", st)
	}
	// Once a series expires, there is room again.
	clock = clock.Add(2 * time.Minute)
	o.Write(context.Background(), []*metlog.Message{counter("c", "", "1")})
	if got := scrape(t, o); got != "# HELP c_total Sum of metlog counter messages.\n# TYPE c_total counter\nc_total 1\n" {
		t.Errorf("got\n%s", got)
	}
}

// Scrapes run while batches are written.
func TestConcurrentScrapes(t *testing.T) {
	o := newOutput(t, Defaults())
	srv := httptest.NewServer(o.Handler())
	defer srv.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Get(srv.URL + o.Pattern())
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	for i := range 200 {
		o.Write(context.Background(), []*metlog.Message{counter(fmt.Sprintf("c%d", i%20), "app", "1"),
			{Type: "timer", Payload: "12", Fields: []metlog.Field{metlog.String("name", "t")}}})
	}
	close(stop)
	wg.Wait()
	if got := scrape(t, o); !strings.Contains(got, `c0_total{logger="app"} 10`) || !strings.Contains(got, "t_seconds_count 200") {
		t.Errorf("got\n%s", got)
	}
}

// Names that would break a scrape are refused, and label values that
// differ only in invalid UTF-8 are one series.
func TestScrapeStaysValid(t *testing.T) {
	o := newOutput(t, Defaults())
	timer := &metlog.Message{Type: "timer", Payload: "1", Fields: []metlog.Field{metlog.String("name", "q")}}
	gauge := func(name string) *metlog.Message {
		return &metlog.Message{Type: "gauge", Payload: "1", Fields: []metlog.Field{metlog.String("name", name)}}
	}
	o.Write(context.Background(), []*metlog.Message{timer, gauge("q_seconds_count"), gauge("q_seconds_bucket"),
		gauge("r_seconds_sum"), {Type: "timer", Payload: "1", Fields: []metlog.Field{metlog.String("name", "r")}},
		counter("u", "bad\xff", "1"), counter("u", "bad\xfe", "1")})
	if _, err := o.registry.Gather(); err != nil {
		t.Fatal(err)
	}
	if st := o.Stats(); st.Invalid != 3 || st.Series != 3 {
		t.Errorf("stats %+v", st)
	}
	if got := scrape(t, o); !strings.Contains(got, "u_total{logger=\"bad\uFFFD\"} 2\n") {
		t.Errorf("got\n%s", got)
	}
}

func TestValidate(t *testing.T) {
	c := Config{Path: "/metrics", Namespace: "9x", LoggerLabel: "le", HostnameLabel: "a-b",
		Timers: "histogram", Buckets: []float64{1, 0.5}, ExpireAfter: -1}
	err := c.Validate()
	for _, want := range []string{`path "/metrics"`, `namespace "9x"`, `logger_label "le"`,
		`hostname_label "a-b"`, "buckets must be ascending", "expire_after", "max_series"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	c = Config{Path: "/m", Timers: "summary", Quantiles: []float64{0, 1.5}, MaxSeries: 1}
	err = c.Validate()
	for _, want := range []string{"quantile 0:", "quantile 1.5:", "summary_max_age"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"a.b-c:d e": "a_b_c_d_e", "9lives": "_9lives", "": "_", "naïve": "na_ve",
		"ok_Name_2": "ok_Name_2", "\xff": "_",
	} {
		if got := sanitizeName(in); got != want {
			t.Errorf("sanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// The sample configuration parses strictly and sets the defaults.
func TestSample(t *testing.T) {
	outputtest.CheckSample(t, "prometheus", Sample(), Defaults)
}

// histogram is a histogram message as the OTLP input makes it.
func histogram(name string, count int64, sum float64, bounds []float64, buckets ...int64) *metlog.Message {
	return &metlog.Message{Type: TypeHistogram, Logger: "svc", Payload: fmt.Sprint(count), Fields: []metlog.Field{
		metlog.String("name", name), metlog.Int("count", count), metlog.Float("sum", sum),
		{Name: "bounds", Type: metlog.TypeDouble, Doubles: bounds},
		{Name: "buckets", Type: metlog.TypeInteger, Integers: buckets},
		metlog.String("region", "eu"),
	}}
}

// Histogram messages (OpenTelemetry histograms) add up into a Prometheus
// histogram with their own bounds; other bounds start the series again;
// broken ones are counted as invalid.
func TestHistogramMessages(t *testing.T) {
	cfg := Defaults()
	cfg.Tags = true
	o := newOutput(t, cfg)
	bounds := []float64{5, 10, 50}
	o.Write(context.Background(), []*metlog.Message{
		histogram("http.server.duration", 4, 61, bounds, 1, 2, 1, 0),
		histogram("http.server.duration", 3, 205, bounds, 0, 1, 1, 1),
		histogram("broken", 3, 1, bounds, 1, 1),
	})
	got := scrape(t, o)
	for _, want := range []string{
		`http_server_duration_bucket{logger="svc",region="eu",le="5"} 1`,
		`http_server_duration_bucket{logger="svc",region="eu",le="10"} 4`,
		`http_server_duration_bucket{logger="svc",region="eu",le="50"} 6`,
		`http_server_duration_bucket{logger="svc",region="eu",le="+Inf"} 7`,
		`http_server_duration_sum{logger="svc",region="eu"} 266`,
		`http_server_duration_count{logger="svc",region="eu"} 7`,
	} {
		if !strings.Contains(got, "\n"+want+"\n") {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
	if st := o.Stats(); st.Invalid != 1 || st.Updates != 2 {
		t.Errorf("stats %+v", st)
	}
	o.Write(context.Background(), []*metlog.Message{histogram("http.server.duration", 2, 3, []float64{1, 2}, 1, 1, 0)})
	got = scrape(t, o)
	if !strings.Contains(got, `http_server_duration_count{logger="svc",region="eu"} 2`+"\n") ||
		!strings.Contains(got, `http_server_duration_bucket{logger="svc",region="eu",le="2"} 2`+"\n") {
		t.Errorf("after new bounds:\n%s", got)
	}
}
