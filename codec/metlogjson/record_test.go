package metlogjson

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/metlog/metlog"
)

// recordOf is what a router journals for m: m completed with id and now,
// as NextRecord completes a message it transcodes, and encoded.
func recordOf(m *metlog.Message, id metlog.UUID, now int64) []byte {
	if m.Timestamp == 0 {
		m.Timestamp = now
	}
	if m.UUID.IsZero() {
		m.UUID = id
	}
	return m.AppendProtobuf(nil)
}

// streamStep is one result of reading a stream: a record or an error.
type streamStep struct {
	rec        []byte
	err        string
	transcoded bool
}

// readRecords reads data with NextRecord to the end, completing and
// encoding the messages it decodes as a router does.
func readRecords(data []byte, r func(io.Reader) io.Reader, reserved func([]byte) bool, lim Limits) []streamStep {
	d := NewDecoder(r(bytes.NewReader(data)))
	d.Limits, d.Reserved = lim, reserved
	var steps []streamStep
	var m metlog.Message
	for n := 0; ; n++ {
		id := metlog.UUID{byte(n), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(n >> 8)}
		now := int64(1795312169187659000) + int64(n)
		rec, decoded, err := d.NextRecord([]byte("prefix"), &m, id, now)
		if err == io.EOF {
			return steps
		}
		if !bytes.HasPrefix(rec, []byte("prefix")) {
			t := fmt.Sprintf("dst's bytes lost: %q", rec)
			return append(steps, streamStep{err: t})
		}
		switch {
		case err != nil:
			steps = append(steps, streamStep{err: err.Error()})
		case decoded:
			if len(rec) != len("prefix") {
				return append(steps, streamStep{err: "decoded message also appended"})
			}
			steps = append(steps, streamStep{rec: recordOf(&m, id, now)})
		default:
			steps = append(steps, streamStep{rec: rec[len("prefix"):], transcoded: true})
		}
		if len(steps) > 10000 {
			return append(steps, streamStep{err: "no progress"})
		}
	}
}

// decodeRecords reads data with Decode, for comparison.
func decodeRecords(data []byte, r func(io.Reader) io.Reader, lim Limits) []streamStep {
	d := NewDecoder(r(bytes.NewReader(data)))
	d.Limits = lim
	var steps []streamStep
	for n := 0; ; n++ {
		id := metlog.UUID{byte(n), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(n >> 8)}
		now := int64(1795312169187659000) + int64(n)
		var m metlog.Message
		err := d.Decode(&m)
		if err == io.EOF {
			return steps
		}
		if err != nil {
			steps = append(steps, streamStep{err: err.Error()})
		} else {
			steps = append(steps, streamStep{rec: recordOf(&m, id, now)})
		}
		if len(steps) > 10000 {
			return append(steps, streamStep{err: "no progress"})
		}
	}
}

// sameSteps fails t unless NextRecord's steps equal Decode's, and returns
// how many records NextRecord transcoded.
func sameSteps(t *testing.T, data []byte, r func(io.Reader) io.Reader, lim Limits) int {
	t.Helper()
	got := readRecords(data, r, nil, lim)
	want := decodeRecords(data, r, lim)
	if len(got) != len(want) {
		t.Fatalf("NextRecord gave %d results, Decode %d, for %q", len(got), len(want), data)
	}
	n := 0
	for i := range got {
		if got[i].err != want[i].err || !bytes.Equal(got[i].rec, want[i].rec) {
			t.Fatalf("result %d of %q:\nNextRecord (transcoded %v): %q %x\nDecode: %q %x",
				i, data, got[i].transcoded, got[i].err, got[i].rec, want[i].err, want[i].rec)
		}
		if got[i].transcoded {
			n++
		}
	}
	return n
}

func oneByte(r io.Reader) io.Reader { return iotest.OneByteReader(r) }
func whole(r io.Reader) io.Reader   { return r }

// layoutLines are messages in metlog-py's layout, which NextRecord
// transcodes, and near misses, which it decodes.
var layoutLines = []struct {
	line       string
	transcoded bool
}{
	{`{"severity": 6, "timestamp": "2026-11-22T01:49:29.187659Z", "metlog_hostname": "vm", "fields": {"status": 200, "path": "/a", "ok": true, "no": false, "neg": -5}, "metlog_pid": 18208, "logger": "app", "type": "oldstyle", "payload": "hello world", "env_version": "0.8"}`, true},
	{`{"severity": 0, "timestamp": "1970-01-01T00:00:00Z", "metlog_hostname": "", "fields": {}, "metlog_pid": 0, "logger": "", "type": "", "payload": "", "env_version": ""}`, true},
	{`{"severity": -1, "timestamp": "2026-11-22T01:49:29Z", "metlog_hostname": "h", "fields": {"": "", "a.b": 1, "a.b": "x"}, "metlog_pid": -7, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8"}  `, true},
	{`{"severity": 6, "timestamp": "2026-11-22T01:49:29Z", "metlog_hostname": "h", "fields": {"big": 123456789012345678}, "metlog_pid": 2147483647, "logger": "l", "type": "t", "payload": "` + strings.Repeat("x", 300) + `", "env_version": "0.8"}`, true},
	// Near misses: each is decoded.
	{`{"severity": 6, "timestamp": "2026-11-22T01:49:29Z", "metlog_hostname": "h", "fields": {"d": 1.5}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8"}`, false},
	{`{"severity": 6, "timestamp": "2026-11-22T01:49:29Z", "metlog_hostname": "h", "fields": {"@Type": "x"}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8"}`, false},
	{`{"severity": 6, "timestamp": "2026-11-22T01:49:29Z", "metlog_hostname": "h", "fields": {"n": {"a": 1}}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8"}`, false},
	{`{"severity": 6, "timestamp": "2026-11-22T01:49:29Z", "metlog_hostname": "h\u00e9", "fields": {}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8"}`, false},
	{`{"severity": 6, "timestamp": "2026-11-22T01:49:29Z", "metlog_hostname": "hé", "fields": {}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8"}`, false},
	{`{"severity": 6, "timestamp": "2026-11-22T01:49:29Z", "metlog_hostname": "h", "fields": {}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": 5, "env_version": "0.8"}`, false},
	{`{"severity": 6, "timestamp": null, "metlog_hostname": "h", "fields": {}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8"}`, false},
	{`{"severity": 6, "timestamp": "2026-11-22T01:49:29Z", "metlog_hostname": "h", "fields": {}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8", "uuid": "018f6b2e4c3a7d129abcdef012345678"}`, false},
	{`{"timestamp": "2026-11-22T01:49:29Z", "severity": 6, "metlog_hostname": "h", "fields": {}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8"}`, false},
	{`{"severity":6,"timestamp":"2026-11-22T01:49:29Z","metlog_hostname":"h","fields":{},"metlog_pid":1,"logger":"l","type":"t","payload":"p","env_version":"0.8"}`, false},
	{`{"severity": 3000000000, "timestamp": "2026-11-22T01:49:29Z", "metlog_hostname": "h", "fields": {}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8"}`, false},
	{`{"severity": 6, "timestamp": "yesterday", "metlog_hostname": "h", "fields": {}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8"}`, false},
}

// TestNextRecordLayout checks which lines NextRecord transcodes, and that
// every line gives what Decode gives, completed and encoded.
func TestNextRecordLayout(t *testing.T) {
	for _, c := range layoutLines {
		// Read a byte at a time, a line is never whole in the buffer
		// when its message starts: the message is framed first.
		for _, r := range []func(io.Reader) io.Reader{whole, oneByte} {
			n := sameSteps(t, []byte(c.line+"\n"), r, Limits{})
			if want := map[bool]int{true: 1}[c.transcoded]; n != want {
				t.Errorf("%d of 1 transcoded, want %d: %s", n, want, c.line)
			}
		}
	}
}

// TestNextRecordLike checks lines like the one before them, which
// NextRecord transcodes by comparing them with it, and near misses.
func TestNextRecordLike(t *testing.T) {
	line := func(sev, ts, fields, payload, tail string) string {
		return `{"severity": ` + sev + `, "timestamp": "` + ts + `", "metlog_hostname": "web1", "fields": {` + fields +
			`}, "metlog_pid": 4242, "logger": "bench", "type": "oldstyle", "payload": "` + payload + `", "env_version": "0.8"}` + tail + "\n"
	}
	var stream string
	for i := range 20 {
		stream += line("6", fmt.Sprintf("2026-01-02T03:04:%02d.%06dZ", i%60, i*7919), `"status": 200`, fmt.Sprintf("#s=%d %s", i, strings.Repeat("x", i*13)), "")
	}
	stream += line("6", "1970-01-01T00:00:00Z", `"status": 200`, "", " \t\r")                                             // like: the timestamp 0, no payload
	stream += line("6", "2026-01-02T03:04:05Z", `"status": 200`, `a\"b`, "")                                              // an escaped quote
	stream += line("6", "2026-01-02T03:04:05Z", `"status": 200`, "é", "")                                                 // not ASCII
	stream += line("6", "2026-01-02T03:04:05\u005a", `"status": 200`, "p", "")                                            // an escape in the timestamp
	stream += line("6", "2026-01-02T03:04:05Z", `"status": 200`, "p", " x")                                               // data after the message
	stream += line("6", "2026-13-02T03:04:05Z", `"status": 200`, "p", "")                                                 // a bad timestamp
	stream += line("3", "2026-01-02T03:04:05Z", `"status": 200`, "p", "")                                                 // another severity
	stream += line("3", "2026-01-02T03:04:05Z", `"status": 201`, "p", "")                                                 // other fields
	stream += line("3", "2026-01-02T03:04:05Z", `"status": 201`, "q", "")                                                 // like the one before
	stream += strings.Replace(line("3", "2026-01-02T03:04:05Z", `"status": 201`, "q", ""), "{\"status", "{\n\"status", 1) // over two lines
	stream += line("3", "2026-01-02T03:04:05Z", `"status": 201`, "r", "")
	for _, lim := range []Limits{{}, {MaxSize: 240}} {
		sameSteps(t, []byte(stream), whole, lim)
		sameSteps(t, []byte(stream), oneByte, lim)
	}
	d := NewDecoder(strings.NewReader(stream))
	var m metlog.Message
	for {
		if _, _, err := d.NextRecord(nil, &m, metlog.UUID{}, 1); err == io.EOF {
			break
		}
	}
	if d.last.hits < 20 {
		t.Errorf("%d lines transcoded like the one before, want at least 20", d.last.hits)
	}
}

// TestNextRecordCaptures reads the captures of metlog-py as one stream:
// each of its messages either way gives the same record.
func TestNextRecordCaptures(t *testing.T) {
	var stream []byte
	for _, file := range captures(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(append(stream, bytes.TrimSpace(data)...), '\n')
	}
	if n := sameSteps(t, stream, whole, Limits{}); n == 0 {
		t.Error("no capture of metlog-py was transcoded")
	}
}

// TestNextRecordLimits checks that a message over a limit is decoded, so
// that it fails as Decode fails it.
func TestNextRecordLimits(t *testing.T) {
	line := layoutLines[0].line + "\n"
	for _, lim := range []Limits{{MaxFields: 4}, {MaxFields: 5}, {MaxDepth: 1}, {MaxSize: 100}} {
		sameSteps(t, []byte(line+line), whole, lim)
	}
	if n := sameSteps(t, []byte(line), whole, Limits{MaxFields: 5}); n != 1 {
		t.Errorf("a message with MaxFields fields was not transcoded")
	}
}

// TestNextRecordReserved checks that a message with a reserved field is
// decoded, and one without transcoded.
func TestNextRecordReserved(t *testing.T) {
	line := []byte(layoutLines[0].line + "\n")
	for _, c := range []struct {
		name       string
		transcoded bool
	}{{"path", false}, {"other", true}} {
		steps := readRecords(line, whole, func(b []byte) bool { return string(b) == c.name }, Limits{})
		if len(steps) != 1 || steps[0].err != "" || steps[0].transcoded != c.transcoded {
			t.Errorf("reserved %q: %+v", c.name, steps)
		}
	}
}

// FuzzNextRecord checks that reading a stream with NextRecord gives, for
// every message, the record of what Decode gives, and the same errors.
func FuzzNextRecord(f *testing.F) {
	seedCaptures(f)
	var all []byte
	for _, c := range layoutLines {
		f.Add([]byte(c.line))
		all = append(append(all, c.line...), '\n')
	}
	f.Add(all)
	like := layoutLines[0].line + "\n" + strings.Replace(layoutLines[0].line, "hello", "hullo there", 1) + "\n" +
		strings.Replace(layoutLines[0].line, "29.187659Z", "31.5Z", 1) + "\n"
	f.Add([]byte(like))
	f.Fuzz(func(t *testing.T, data []byte) {
		sameSteps(t, data, whole, Limits{})
		sameSteps(t, data, oneByte, Limits{MaxSize: 200, MaxFields: 3})
	})
}
