package match

import (
	"testing"
)

// matchCases is the table of expressions × messages. Each row says whether
// expr matches the named message (see messages_test.go).
var matchCases = []struct {
	expr string
	msg  string
	want bool
}{
	// Heka's documented examples.
	{`Type == "test" && Severity == 6`, "heka", false},
	{`Type == "TEST" && Severity == 6`, "heka", true},
	{`(Severity == 7 || Payload == "Test Payload") && Type == "test"`, "heka", false},
	{`(Severity == 7 || Payload == "Test Payload") && Type == "TEST"`, "heka", true},
	{`Fields[foo] != "bar"`, "heka", false},
	{`Fields[foo][1][0] == 'alternate'`, "heka", true},
	{`Fields[MyBool] == TRUE`, "heka", false},
	{`TRUE`, "heka", true},
	{`TRUE`, "empty", true},
	{`Fields[created] =~ /%TIMESTAMP%/`, "heka", false},
	{`Fields[widget] != NIL`, "heka", false},

	// Heka's own positive tests.
	{`(Severity == 7 || Payload == 'Test Payload') && Type == 'TEST'`, "heka", true},
	{`EnvVersion == "0.8"`, "heka", true},
	{`EnvVersion == '0.8'`, "heka", true},
	{`EnvVersion != '0.9'`, "heka", true},
	{`EnvVersion > '0.7'`, "heka", true},
	{`EnvVersion >= '0.8'`, "heka", true},
	{`EnvVersion < '0.9'`, "heka", true},
	{`EnvVersion <= '0.8'`, "heka", true},
	{`Hostname != ''`, "heka", true},
	{`Logger == 'GoSpec'`, "heka", true},
	{`Pid != 0`, "heka", true},
	{`Severity != 5`, "heka", true},
	{`Severity < 7`, "heka", true},
	{`Severity <= 6`, "heka", true},
	{`Severity == 6`, "heka", true},
	{`Severity > 5`, "heka", true},
	{`Severity >= 6`, "heka", true},
	{`Timestamp > 0`, "heka", true},
	{`Type != 'test'`, "heka", true},
	{`Type == 'TEST' && Severity == 6`, "heka", true},
	{`Type == 'test' && Severity == 7 || Payload == 'Test Payload'`, "heka", true},
	{`Type == 'TEST'`, "heka", true},
	{`Type == 'foo' || Type == 'bar' || Type == 'TEST'`, "heka", true},
	{`Uuid == '` + testUUID + `'`, "heka", true},
	{`Fields[foo] == 'bar'`, "heka", true},
	{`Fields[foo][0] == 'bar'`, "heka", true},
	{`Fields[foo][0][0] == 'bar'`, "heka", true},
	{`Fields[foo][1] == 'alternate'`, "heka", true},
	{`Fields[bytes] == 'data'`, "heka", true},
	{`Fields[int] == 999`, "heka", true},
	{`Fields[int][0][1] == 1024`, "heka", true},
	{`Fields[double] == 99.9`, "heka", true},
	{`Fields[bool] == TRUE`, "heka", true},
	{`Type =~ /TEST/`, "heka", true},
	{`Type !~ /bogus/`, "heka", true},
	{`Type =~ /TEST/ && Payload =~ /Payload/`, "heka", true},
	{`Fields[foo][1] =~ /alt/`, "heka", true},
	{`Fields[Payload] =~ /name=\w+/`, "heka", true},
	{`Type =~ /(ST)/`, "heka", true},
	{`Fields[int] != NIL`, "heka", true},
	{`Fields[int][0][1] != NIL`, "heka", true},
	{`Fields[int][0][2] == NIL`, "heka", true},
	{`Fields[missing] == NIL`, "heka", true},
	{`Type =~ /^TE/`, "heka", true},
	{`Type =~ /ST$/`, "heka", true},
	{`Type !~ /^te/`, "heka", true},
	{`Type !~ /st$/`, "heka", true},

	// Heka's own negative tests.
	{`FALSE`, "heka", false},
	{`Type == 'test'&&(Severity==7||Payload=='Test Payload')`, "heka", false},
	{`EnvVersion == '0.9'`, "heka", false},
	{`EnvVersion != '0.8'`, "heka", false},
	{`EnvVersion > '0.9'`, "heka", false},
	{`EnvVersion >= '0.9'`, "heka", false},
	{`EnvVersion < '0.8'`, "heka", false},
	{`EnvVersion <= '0.7'`, "heka", false},
	{`Severity == 5`, "heka", false},
	{`Severity != 6`, "heka", false},
	{`Severity < 6`, "heka", false},
	{`Severity <= 5`, "heka", false},
	{`Severity > 6`, "heka", false},
	{`Severity >= 7`, "heka", false},
	{`Fields[foo] == 'ba'`, "heka", false},
	{`Fields[foo][1] == 'bar'`, "heka", false},
	{`Fields[foo][0][1] == 'bar'`, "heka", false},
	{`Fields[bool] == FALSE`, "heka", false},
	{`Type =~ /Test/`, "heka", false},
	{`Type !~ /TEST/`, "heka", false},
	{`Payload =~ /^Payload/`, "heka", false},
	{`Type == "te'st"`, "heka", false},
	{`Type == 'te"st'`, "heka", false},
	{`Fields[int] =~ /999/`, "heka", false},
	{`Fields[zero] == "0"`, "heka", false},
	{`Fields[string] == 43`, "heka", false},
	{`Fields[int] == NIL`, "heka", false},
	{`Fields[int][0][1] == NIL`, "heka", false},
	{`Fields[missing] != NIL`, "heka", false},
	{`Type =~ /^te/`, "heka", false},
	{`Type =~ /st$/`, "heka", false},
	{`Type !~ /^TE/`, "heka", false},
	{`Type !~ /ST$/`, "heka", false},
	{`Logger =~ /./ && Type =~ /^anything/`, "heka", false},

	// The design's example expression.
	{`Type == 'timer' && Severity <= 4 && Fields[name] =~ /^db\./ && Fields[rate] != NIL`, "timer", true},
	{`Type == 'timer' && Severity <= 3 && Fields[name] =~ /^db\./ && Fields[rate] != NIL`, "timer", false},
	{`Type == 'timer' && Severity <= 4 && Fields[name] =~ /^db\./ && Fields[rate] != NIL`, "heka", false},
	{`Type == 'timer' && Severity <= 4 && Fields[name] =~ /^db\./ && Fields[rate] != NIL`, "empty", false},

	// Precedence: && binds tighter than ||, both left to right.
	{`TRUE || FALSE && FALSE`, "empty", true},
	{`(TRUE || FALSE) && FALSE`, "empty", false},
	{`FALSE && FALSE || TRUE`, "empty", true},
	{`FALSE && (FALSE || TRUE)`, "empty", false},
	{`Type == 'TEST' || Type == 'x' && Severity == 0`, "heka", true},
	{`(Type == 'TEST' || Type == 'x') && Severity == 0`, "heka", false},
	{`Severity == 0 && Type == 'x' || Type == 'TEST'`, "heka", true},
	{`((((Type == 'TEST'))))`, "heka", true},
	{`Type == 'a' || Type == 'b' || Type == 'c' || Type == 'd' || Type == 'TEST'`, "heka", true},
	{`Type == 'a' || Type == 'b' || Type == 'c' || Type == 'd' || Type == 'e'`, "heka", false},
	{`Severity < 7 && Severity > 0 && Pid > 0 && Logger == 'GoSpec' && Type == 'TEST'`, "heka", true},
	{`Severity < 7 && Severity > 0 && Pid > 0 && Logger == 'GoSpec' && Type == 'x'`, "heka", false},

	// Constant folding keeps the meaning.
	{`Type == 'x' || TRUE`, "empty", true},
	{`TRUE && Type == ''`, "empty", true},
	{`Type == '' && FALSE`, "empty", false},
	{`FALSE || Type == 'timer'`, "timer", true},
	{`(FALSE || TRUE) && (TRUE && Type == 'timer')`, "timer", true},
	{`Uuid == 'not-a-uuid' || Type == 'timer'`, "timer", true},

	// NIL tests existence of a field value, and only that.
	{`Fields[foo] != NIL`, "heka", true},
	{`Fields[foo][1] != NIL`, "heka", true},
	{`Fields[foo][2] != NIL`, "heka", false},
	{`Fields[foo][2] == NIL`, "heka", true},
	{`Fields[foo][0][1] == NIL`, "heka", true},
	{`Fields[empty] == NIL`, "timer", true},
	{`Fields[empty] != NIL`, "timer", false},
	{`Fields[flags][0][1] != NIL`, "timer", true},
	{`Fields[anything] == NIL`, "empty", true},
	{`Fields[missing] != 'x'`, "heka", false},
	{`Fields[missing] == 'x'`, "heka", false},
	{`Fields[missing] < 5`, "heka", false},
	{`Fields[missing] != FALSE`, "heka", false},
	{`Fields[missing] !~ /x/`, "heka", false},

	// Repeated names and arrays.
	{`Fields[name] == 'db.query'`, "timer", true},
	{`Fields[name][1] == 'second name'`, "timer", true},
	{`Fields[name][1][0] == 'second name'`, "timer", true},
	{`Fields[name][2] == NIL`, "timer", true},
	{`Fields[tags] == 'a'`, "timer", true},
	{`Fields[tags][0][1] == 'b'`, "timer", true},
	{`Fields[tags][0][2] == 'c'`, "timer", true},
	{`Fields[tags][0][3] == NIL`, "timer", true},
	{`Fields[tags][1] == NIL`, "timer", true},
	{`Fields[flags] == TRUE`, "timer", true},
	{`Fields[flags][0][1] == FALSE`, "timer", true},
	{`Fields[flags][0][1] != TRUE`, "timer", true},
	{`Fields[flags][0][1] != FALSE`, "timer", false},
	{`Fields[int][0][1] > 1000`, "heka", true},

	// Type mismatches are false, whatever the operator.
	{`Fields[foo] == 6`, "heka", false},
	{`Fields[foo] != 6`, "heka", false},
	{`Fields[number] == '64'`, "heka", false},
	{`Fields[number] != '64'`, "heka", false},
	{`Fields[number] == 64`, "heka", true},
	{`Fields[bool] == 'true'`, "heka", false},
	{`Fields[bool] == 1`, "heka", false},
	{`Fields[foo] == TRUE`, "heka", false},
	{`Fields[foo] != TRUE`, "heka", false},
	{`Fields[number] =~ /64/`, "heka", false},
	{`Fields[number] !~ /64/`, "heka", false},
	{`Fields[double] == TRUE`, "heka", false},
	{`Fields[bool] =~ /true/`, "heka", false},
	{`Fields[string] == '43'`, "heka", true},

	// Dotted, quoted, spaced and empty names.
	{`Fields[headers.path] == '/api/v1/users'`, "timer", true},
	{`Fields['headers.path'] =~ /^\/api\/v\d+\//`, "timer", true},
	{`Fields["headers.path"] =~ /users$/`, "timer", true},
	{`Fields[ headers.path ] != NIL`, "timer", true},
	{`Fields['user agent'] =~ /^curl\//`, "timer", true},
	{`Fields["user agent"][0][0] == 'curl/8.5'`, "timer", true},
	{`Fields[''] == 'anonymous'`, "timer", true},
	{`Fields[""] != NIL`, "timer", true},
	{`Fields[''] == NIL`, "heka", true},
	{`Fields[Payload] != NIL && Payload == 'Test Payload'`, "heka", true},
	{`Fields[Timestamp] =~ /^Mon Jan/`, "heka", true},
	{`Fields[json] == '{"a":1}'`, "timer", true},

	// Numbers: exact comparison of integers and floats, negatives,
	// exponents.
	{`Fields[big] == 9007199254740993`, "timer", true},
	{`Fields[big] == 9007199254740992`, "timer", false},
	{`Fields[big] == 9007199254740992.0`, "timer", false},
	{`Fields[big] > 9007199254740992.0`, "timer", true},
	{`Fields[big][0][1] == 9223372036854775807`, "timer", true},
	{`Fields[big][0][1] < 9223372036854775808`, "timer", true},
	{`Fields[big][0][1] < 9.223372036854775807e18`, "timer", true},
	{`Fields[big][0][2] == -9223372036854775808`, "timer", true},
	{`Fields[big][0][2] == -9.223372036854775808e18`, "timer", true},
	{`Fields[big][0][2] > -1e19`, "timer", true},
	{`Fields[rate] == 1`, "timer", true},
	{`Fields[rate] == 1.0`, "timer", true},
	{`Fields[rate] == 1e0`, "timer", true},
	{`Fields[rate] >= 0.5`, "timer", true},
	{`Fields[rate] < .5`, "timer", false},
	{`Fields[doubles] == 1.5`, "timer", true},
	{`Fields[doubles] > 1`, "timer", true},
	{`Fields[doubles] < 2`, "timer", true},
	{`Fields[doubles][0][1] == 1`, "timer", false},
	{`Fields[doubles][0][1] != 1`, "timer", true},
	{`Fields[doubles][0][1] < 1`, "timer", false},
	{`Fields[doubles][0][1] >= 1`, "timer", false},
	{`Fields[doubles][0][1] != NIL`, "timer", true},
	{`Fields[doubles][0][2] == 0`, "timer", true},
	{`Fields[doubles][0][2] == -0`, "timer", true},
	{`Fields[doubles][0][2] == 0.0`, "timer", true},
	{`Fields[neg] == -5`, "timer", true},
	{`Fields[neg] < -4.5`, "timer", true},
	{`Fields[neg] > -5.5`, "timer", true},
	{`Fields[neg] >= -5e0`, "timer", true},
	{`Fields[double] > 99.89 && Fields[double] < 99.91`, "heka", true},
	{`Severity < 4.5`, "timer", true},
	{`Severity == 4.0`, "timer", true},
	{`Severity == 4.5`, "timer", false},
	{`Severity > 3.999`, "timer", true},
	{`Pid == -1`, "timer", true},
	{`Pid < 0`, "timer", true},
	{`Pid == 14098`, "heka", true},
	{`Pid == 1.4098e4`, "heka", true},
	{`Severity == 0 && Pid == 0 && Timestamp == 0`, "empty", true},

	// Timestamp against nanoseconds and RFC 3339 times.
	{`Timestamp == 1700000000123456789`, "heka", true},
	{`Timestamp > 1.7e18`, "heka", true},
	{`Timestamp == '2023-11-14T22:13:20.123456789Z'`, "heka", true},
	{`Timestamp == '2023-11-14T23:13:20.123456789+01:00'`, "heka", true},
	{`Timestamp >= '2023-11-14T22:13:20Z'`, "heka", true},
	{`Timestamp < '2023-11-14T22:13:20Z'`, "heka", false},
	{`Timestamp >= "2016-05-24T00:00:00Z" && Timestamp < '2024-01-01T00:00:00Z'`, "heka", true},
	{`Timestamp < '1970-01-01T00:00:00Z'`, "timer", true},
	{`Timestamp == '1969-12-31T23:59:58.5Z'`, "timer", true},
	{`Timestamp == -1500000000`, "timer", true},

	// Uuid as its canonical text.
	{`Uuid == '` + testUUID + `'`, "heka", true},
	{`Uuid != '` + testUUID + `'`, "heka", false},
	{`Uuid == '0190D3E4-7C1A-7B3E-8F00-0123456789AB'`, "heka", false},
	{`Uuid == '0190d3e47c1a7b3e8f000123456789ab'`, "heka", false},
	{`Uuid != 'x'`, "heka", true},
	{`Uuid =~ /^0190d3e4-/`, "heka", true},
	{`Uuid =~ /^0190d3e4-[0-9a-f]{4}-7/`, "heka", true},
	{`Uuid !~ /^[0-9a-f]{8}-[0-9a-f]{4}-7/`, "heka", false},
	{`Uuid =~ /89ab$/`, "heka", true},
	{`Uuid < '1'`, "heka", true},
	{`Uuid > '0190d3e4'`, "heka", true},
	{`Uuid >= '` + testUUID + `'`, "heka", true},
	{`Uuid == '00000000-0000-0000-0000-000000000000'`, "empty", true},
	{`Uuid =~ /^0{8}-/`, "empty", true},

	// String literals and escapes.
	{`Payload == "Test Payload"`, "heka", true},
	{`Payload == 'Test\x20Payload'`, "heka", true},
	{`Payload == 'Test\u0020Payload'`, "heka", true},
	{`Payload == 'Test\U00000020Payload'`, "heka", true},
	{`Fields[quote] == 'it\'s "quoted" \\ here'`, "timer", true},
	{`Fields[quote] == "it's \"quoted\" \\ here"`, "timer", true},
	{`Fields[unicode] == 'café ☕'`, "timer", true},
	{`Fields[unicode] == 'caf\u00e9 \u2615'`, "timer", true},
	{`Fields[unicode] =~ /^caf\x{e9}/`, "timer", true},
	{`Fields[unicode] > 'cafe'`, "timer", true},
	{`Type == ''`, "empty", true},
	{`Type == ""`, "heka", false},

	// Regular expressions, with and without the literal shortcuts.
	{`Payload =~ /Payload/`, "heka", true},
	{`Payload =~ /^Test Payload$/`, "heka", true},
	{`Payload =~ /^Test$/`, "heka", false},
	{`Payload =~ /(?i)^test payload$/`, "heka", true},
	{`Payload =~ /^Test/ && Payload =~ /load$/`, "heka", true},
	{`Payload !~ /^$/`, "heka", true},
	{`Payload =~ /^$/`, "empty", true},
	{`Payload =~ //`, "empty", true},
	{`Payload =~ /^/`, "heka", true},
	{`Payload =~ /a.b/`, "heka", false},
	{`Payload =~ /T\w+ P/`, "heka", true},
	{`Hostname =~ /\.host$/`, "heka", true},
	{`Hostname =~ /\.example\.com$/`, "timer", true},
	{`Hostname =~ /^web-\d+\./`, "timer", true},
	{`Fields[headers.path] =~ /\/v1\//`, "timer", true},
	{`Fields[name] =~ /^db\.(query|exec)$/`, "timer", true},
	{`Fields[raw] =~ /abc$/`, "timer", true},
	{`Fields[raw] =~ /^\xff/`, "timer", false},
	{`Fields[raw] =~ /^\x{fffd}/`, "timer", true},
	{`Fields[raw] == '\xff\xfeabc'`, "timer", true},
	{`Fields[raw] < '\xff\xff'`, "timer", true},
	{`Fields[raw] > '\xff'`, "timer", true},
	{`Fields[bytes] =~ /^da/`, "heka", true},
	{`Fields[bytes] =~ /a+t/`, "heka", true},
	{`Fields[bytes] !~ /^data$/`, "heka", false},
	{`Fields[bytes] <= 'data'`, "heka", true},
	{`Fields[bytes] > 'dat'`, "heka", true},
	{`Fields[bytes] != 'data'`, "heka", false},

	// Whitespace and layout.
	{"Type=='TEST'&&Severity==6", "heka", true},
	{"\tType  ==\n'TEST'\r\n&&\n( Severity == 6 )  ", "heka", true},
	{"Fields [ foo ] [ 1 ] == 'alternate'", "heka", true},
}

func TestMatch(t *testing.T) {
	for _, c := range matchCases {
		m, err := Compile(c.expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.expr, err)
			continue
		}
		msg := testMessages[c.msg]()
		if got := m.Match(msg); got != c.want {
			t.Errorf("%q on %s message = %v, want %v", c.expr, c.msg, got, c.want)
		}
		tree, err := Parse(c.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.expr, err)
			continue
		}
		if got := refEval(tree, msg); got != c.want {
			t.Errorf("reference evaluator: %q on %s message = %v, want %v", c.expr, c.msg, got, c.want)
		}
		again, err := Compile(m.String())
		if err != nil {
			t.Errorf("Compile(%q) (String of %q): %v", m.String(), c.expr, err)
			continue
		}
		if got := again.Match(msg); got != c.want {
			t.Errorf("%q (String of %q) on %s message = %v, want %v", m.String(), c.expr, c.msg, got, c.want)
		}
	}
}

// TestMatchAllMessages runs every expression of the table against every
// test message and checks the compiled matcher against the reference
// evaluator, so the shortcuts and folding are exercised on inputs the
// table rows do not name.
func TestMatchAllMessages(t *testing.T) {
	msgs := fuzzMessages()
	for _, c := range matchCases {
		m := MustCompile(c.expr)
		tree, _ := Parse(c.expr)
		for i, msg := range msgs {
			if got, want := m.Match(msg), refEval(tree, msg); got != want {
				t.Errorf("%q on message %d = %v, reference says %v", c.expr, i, got, want)
			}
		}
	}
}

// TestMatchAllocs proves that matching allocates nothing, for every
// expression of the table.
func TestMatchAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are slow to measure; skipped with -short")
	}
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race, whose sync.Pool drops items at random")
	}
	msgs := fuzzMessages()
	for _, c := range matchCases {
		m := MustCompile(c.expr)
		for i, msg := range msgs {
			if n := testing.AllocsPerRun(20, func() { m.Match(msg) }); n != 0 {
				t.Errorf("%q on message %d: %v allocations per match, want 0", c.expr, i, n)
			}
		}
	}
}

func TestMatchConcurrent(t *testing.T) {
	m := MustCompile(`Type == 'timer' && Fields[name] =~ /^db\.(query|exec)$/ || Uuid =~ /^0190d3e4-[0-9a-f]{4}-7/`)
	msgs := fuzzMessages()
	done := make(chan bool)
	for range 4 {
		go func() {
			ok := true
			for range 200 {
				ok = ok && m.Match(msgs[0]) && m.Match(msgs[1]) && !m.Match(msgs[2])
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("concurrent matches disagreed")
		}
	}
}
