package match

import (
	"testing"

	"github.com/metlog/metlog"
)

// benchCases are the expressions benchmarked, with the message they run
// on. The first is the design's typical expression; most of the rest are
// the cases Heka benchmarked its own matcher with.
var benchCases = []struct {
	name, expr string
	msg        func() *metlog.Message
}{
	{"Typical", `Type == 'timer' && Severity <= 4 && Fields[name] =~ /^db\./ && Fields[rate] != NIL`, timerMessage},
	{"TypicalMiss", `Type == 'timer' && Severity <= 4 && Fields[name] =~ /^db\./ && Fields[rate] != NIL`, hekaMessage},
	{"HeaderEq", `Type == 'TEST' && Severity == 6`, hekaMessage},
	{"Regexp", `Type =~ /[Tt]EST/ && Severity == 6`, hekaMessage},
	{"RegexpCapture", `Type =~ /^(TEST)/ && Severity == 6`, hekaMessage},
	{"StartsWith", `Payload =~ /^Test/`, hekaMessage},
	{"EndsWith", `Payload =~ /load$/`, hekaMessage},
	{"FieldString", `Fields[foo] == 'bar' && Severity == 6`, hekaMessage},
	{"FieldNumeric", `Fields[number] == 64 && Severity == 6`, hekaMessage},
	{"FieldNonExistence", `Fields[missing] == NIL`, hekaMessage},
	{"FieldExistence", `Fields[int] != NIL`, hekaMessage},
	{"FieldRepeated", `Fields[foo][1] =~ /^alt/`, hekaMessage},
	{"Uuid", `Uuid =~ /^0190d3e4-[0-9a-f]{4}-7/`, hekaMessage},
	{"Timestamp", `Timestamp >= '2023-01-01T00:00:00Z' && Timestamp < '2024-01-01T00:00:00Z'`, hekaMessage},
	{"TypeList", `Type == 'a' || Type == 'b' || Type == 'c' || Type == 'd' || Type == 'e' || Type == 'f' || Type == 'g' || Type == 'h' || Type == 'i' || Type == 'TEST'`, hekaMessage},
}

func BenchmarkMatch(b *testing.B) {
	for _, c := range benchCases {
		m := MustCompile(c.expr)
		msg := c.msg()
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Match(msg)
			}
			if n := testing.AllocsPerRun(10, func() { m.Match(msg) }); n != 0 && !raceEnabled {
				b.Fatalf("%v allocations per match", n)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, c := range benchCases[:4] {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(c.expr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
