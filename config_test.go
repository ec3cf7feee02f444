package metlog

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("testdata", "config", "full.toml"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Target:          "tcp://127.0.0.1:5565",
		Logger:          "myapp",
		Hostname:        "web-1",
		Severity:        ptr(Notice),
		SeverityMax:     ptr(Info),
		TypeAllowlist:   []string{},
		TypeDenylist:    []string{"spam", "eggs"},
		TypeSeverityMax: map[string]Severity{"oldstyle": Warning},
		DisabledTimers:  []string{"db_query"},
		QueueSize:       1024,
		BatchSize:       64,
		CloseTimeout:    "2s",
		StatsInterval:   "30s",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
	opts, err := cfg.Options()
	if err != nil {
		t.Fatal(err)
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger != "myapp" || o.hostname != "web-1" || o.severity != Notice || o.filter.severityMax != Info ||
		len(o.filter.deny) != 2 || o.filter.allow != nil || o.filter.typeMax["oldstyle"] != Warning ||
		o.queueSize != 1024 || o.batchSize != 64 || o.closeTimeout != 2*time.Second ||
		o.statsInterval != 30*time.Second || !reflect.DeepEqual(o.disabledTimers, []string{"db_query"}) {
		t.Errorf("options %+v", o)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // every one must be in the error
	}{
		{"unknown-keys.toml", []string{
			`unknown-keys.toml:3:1: unknown key "severty"`,
			`unknown-keys.toml:8:2: unknown key "sender"`,
		}},
		{"bad-values.toml", []string{
			`bad-values.toml:2:12: unknown severity "loud"`,
		}},
		{"bad-ranges.toml", []string{
			`target: metlog: target "udp://": no host`,
			`severity_max: severity 9 out of range`,
			`batch_size: 100000 is not between`,
			`stats_interval: "-1s" is not a duration`,
			`type_severity_max.oldstyle: severity 12 out of range`,
		}},
		{"missing.toml", []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := LoadConfig(filepath.Join("testdata", "config", tt.file))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseConfigSyntaxError(t *testing.T) {
	_, err := ParseConfig("x.toml", []byte("logger = \"a\"\nqueue_size = \"big\"\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "x.toml:2:") {
		t.Errorf("error %v, want one at x.toml:2", err)
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{
		"METLOG_TARGET":            "unix:///run/metlog.sock",
		"METLOG_LOGGER":            "envapp",
		"METLOG_SEVERITY_MAX":      "debug",
		"METLOG_TYPE_DENYLIST":     "spam, eggs,",
		"METLOG_TYPE_SEVERITY_MAX": "oldstyle=error, counter=7",
		"METLOG_DISABLED_TIMERS":   "*",
		"METLOG_QUEUE_SIZE":        "256",
		"METLOG_STATS_INTERVAL":    "0s",
		"METLOG_HOSTNAME":          "",
	}
	cfg := Config{Logger: "fileapp", Hostname: "file-host", BatchSize: 8}
	err := cfg.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Target:          "unix:///run/metlog.sock",
		Logger:          "envapp",
		SeverityMax:     ptr(Debug),
		TypeDenylist:    []string{"spam", "eggs"},
		TypeSeverityMax: map[string]Severity{"oldstyle": Error, "counter": Debug},
		DisabledTimers:  []string{"*"},
		QueueSize:       256,
		BatchSize:       8,
		StatsInterval:   "0s",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
	bad := map[string]string{"METLOG_QUEUE_SIZE": "lots", "METLOG_TYPE_SEVERITY_MAX": "oldstyle", "METLOG_SEVERITY": "x"}
	err = (&Config{}).ApplyEnv(func(k string) (string, bool) { v, ok := bad[k]; return v, ok })
	for _, w := range []string{"METLOG_QUEUE_SIZE", "METLOG_TYPE_SEVERITY_MAX", "METLOG_SEVERITY:"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

func TestDialConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.json")
	c, err := DialConfig(Config{Target: "file://" + path, Logger: "cfg"}, WithHostname("h"))
	if err != nil {
		t.Fatal(err)
	}
	c.Incr("x")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"logger": "cfg"`) || !strings.Contains(string(data), `"metlog_hostname": "h"`) {
		t.Errorf("file holds %s", data)
	}
	if _, err := DialConfig(Config{Severity: ptr(Severity(12))}); err == nil {
		t.Error("DialConfig accepted a bad severity")
	}
}

func ptr[T any](v T) *T { return &v }

func TestDefault(t *testing.T) {
	t.Setenv("METLOG_TARGET", "udp://127.0.0.1:9")
	t.Setenv("METLOG_LOGGER", "from-env")
	d := Default()
	if d == nil || d != Default() {
		t.Fatal("Default is not one client")
	}
	if d.Logger() != "from-env" {
		t.Errorf("default logger %q, want from-env", d.Logger())
	}
	c, mem := newTestClient(t)
	SetDefault(c)
	defer SetDefault(d)
	Default().Incr("via default")
	if msgs := flushed(t, c, mem); len(msgs) != 1 {
		t.Errorf("got %d messages through the default client", len(msgs))
	}
}

func TestFailSender(t *testing.T) {
	c := New(failSender{err: os.ErrInvalid}, WithStatsInterval(0))
	c.Incr("x")
	c.Close()
	if st := c.Stats(); st.Failed != 2 { // the counter and the final report
		t.Errorf("stats %+v", st)
	}
}
