package nats

import (
	"testing"

	"github.com/metlog/metlog"
)

func TestSubject(t *testing.T) {
	counter := &metlog.Message{Type: "counter", Logger: "web", Hostname: "a.example.com", Severity: 6,
		Fields: []metlog.Field{metlog.String("name", "db.query")}}
	tests := []struct {
		template string
		shards   int
		m        *metlog.Message
		want     string
	}{
		{"metlog.{type}", 1, counter, "metlog.counter"},
		{"metlog.{type}.{shard}", 1, counter, "metlog.counter.0"},
		{"metlog.{type}.{shard}", 4, counter, "metlog.counter." + itoa(Shard("db.query", 4))},
		{"m.{hostname}.{logger}.{severity}", 1, counter, "m.a_example_com.web.6"},
		{"metlog.{type}", 1, &metlog.Message{}, "metlog._"},
		{"metlog.{type}", 1, &metlog.Message{Type: "a b*c>d\x00"}, "metlog.a_b_c_d_"},
		{"x{type}y", 1, &metlog.Message{Type: "t"}, "xty"},
	}
	for _, tt := range tests {
		s, err := ParseSubject(tt.template, tt.shards, "name")
		if err != nil {
			t.Fatalf("%s: %v", tt.template, err)
		}
		if got := string(s.Append(nil, tt.m)); got != tt.want {
			t.Errorf("%s on %+v = %q, want %q", tt.template, tt.m, got, tt.want)
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestParseSubjectErrors(t *testing.T) {
	tests := []struct {
		template string
		shards   int
	}{
		{"", 1},
		{"metlog.{type", 1},
		{"metlog.{nope}", 1},
		{"metlog.*", 1},
		{"metlog.>", 1},
		{"metlog..{type}", 1},
		{"metlog.{type}.", 1},
		{".metlog", 1},
		{"metlog {type}", 1},
		{"metlog.{type}", 2}, // sharded without {shard}
		{"metlog.{shard}", 0},
	}
	for _, tt := range tests {
		if _, err := ParseSubject(tt.template, tt.shards, "name"); err == nil {
			t.Errorf("ParseSubject(%q, %d) succeeded", tt.template, tt.shards)
		}
	}
}

func TestShardKey(t *testing.T) {
	tests := []struct {
		m    *metlog.Message
		want string
	}{
		{&metlog.Message{Logger: "app", Fields: []metlog.Field{metlog.String("name", "n")}}, "n"},
		{&metlog.Message{Logger: "app"}, "app"},
		{&metlog.Message{Logger: "app", Fields: []metlog.Field{metlog.Int("name", 3)}}, "app"},
	}
	for _, tt := range tests {
		if got := ShardKey(tt.m, "name"); got != tt.want {
			t.Errorf("ShardKey = %q, want %q", got, tt.want)
		}
	}
}

// Shard is FNV-1a 32 modulo n: these values pin the function, which every
// router must compute alike (docs/scaling.md).
func TestShardIsFNV1a(t *testing.T) {
	tests := []struct {
		key  string
		n    int
		want int
	}{
		{"", 1 << 30, 2166136261 % (1 << 30)},
		{"a", 1 << 30, 0xe40c292c % (1 << 30)},
		{"foobar", 1 << 30, 0xbf9cf968 % (1 << 30)},
		{"foobar", 1, 0},
		{"foobar", 7, 0xbf9cf968 % 7},
	}
	for _, tt := range tests {
		if got := Shard(tt.key, tt.n); got != tt.want {
			t.Errorf("Shard(%q, %d) = %d, want %d", tt.key, tt.n, got, tt.want)
		}
	}
}

func FuzzSubject(f *testing.F) {
	f.Add("metlog.{type}.{shard}", "counter", "web", "db.query")
	f.Add("m.{hostname}.{logger}", "a.b", "", "")
	f.Fuzz(func(t *testing.T, template, typ, logger, name string) {
		s, err := ParseSubject(template, 3, "name")
		if err != nil {
			return
		}
		m := &metlog.Message{Type: typ, Logger: logger, Fields: []metlog.Field{metlog.String("name", name)}}
		got := string(s.Append(nil, m))
		if got == "" || got[0] == '.' || got[len(got)-1] == '.' {
			t.Fatalf("subject %q from %q", got, template)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c <= ' ' || c == '*' || c == '>' || (c == '.' && got[i-1] == '.') {
				t.Fatalf("subject %q from %q", got, template)
			}
		}
	})
}
