package tail

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/metlog/metlog"
)

// FuzzAppends writes any bytes to a followed file in pieces of any sizes,
// polling between pieces, and checks that the records are the file's
// complete lines, in order, each with its offset: a line whatever the
// pieces it was written in, cut at max_line_size (with the rest skipped)
// when longer, and nothing of the unterminated last line unless it is
// longer already.
func FuzzAppends(f *testing.F) {
	f.Add([]byte("one\ntwo\r\n\nthree"), []byte{1, 2, 3})
	f.Add([]byte("\xef\xbb\xbfbom\nbad \xff\xfe\n"), []byte{5})
	f.Add([]byte(strings.Repeat("x", 100)+"\nshort\n"+strings.Repeat("y", 64)+"\n"), []byte{7, 70, 1})
	f.Fuzz(func(t *testing.T, data, pieces []byte) {
		if len(data) > 4096 {
			return
		}
		path := logFile(t, "")
		p := newPoller(t, path)
		p.tl.in.cfg.MaxLineSize = 64
		file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		rest := data
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(pieces) > 0 {
				n = min(n, int(pieces[i%len(pieces)])+1)
			}
			if _, err := file.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
			p.poll()
		}
		p.poll()
		want := completeLines(data, 64)
		got := p.sink.Messages()
		if len(got) != len(want) {
			t.Fatalf("%d records, want %d:\n got %q\nwant %+v", len(got), len(want), payloads(got), want)
		}
		for i, m := range got {
			if m.Payload != want[i].text || offsetOf(m) != want[i].off || (m.Field("truncated") != nil) != want[i].cut {
				t.Fatalf("record %d: %q at %d (truncated field %v), want %+v", i, m.Payload, offsetOf(m), m.Field("truncated") != nil, want[i])
			}
		}
	})
}

type wantLine struct {
	text string
	off  int64
	cut  bool
}

// completeLines is what the input makes of data in UTF-8 with lines of at
// most max bytes: the text of every line that ends in a newline, and the
// start of an over-long one that does not.
func completeLines(data []byte, max int) []wantLine {
	var out []wantLine
	off := 0
	for {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			// An unterminated line waits for its newline, unless it
			// is over-long already.
			if raw := data[off:]; len(raw) > max {
				out = append(out, wantLine{lineText(raw[:utf8Cut(raw, max)], off), int64(off), true})
			}
			return out
		}
		raw := data[off : off+i]
		cut := len(raw) > max
		if cut {
			raw = raw[:utf8Cut(raw, max)]
		}
		text := lineText(raw, off)
		if text != "" || cut {
			out = append(out, wantLine{text, int64(off), cut})
		}
		off += i + 1
	}
}

// lineText is the text of the line raw at offset off: valid UTF-8, with no
// carriage return at its end, nor a byte order mark at the file's start.
func lineText(raw []byte, off int) string {
	text := strings.TrimSuffix(utf8Text(raw), "\r")
	if off == 0 {
		text = strings.TrimPrefix(text, "\uFEFF")
	}
	return text
}

func offsetOf(m *metlog.Message) int64 {
	if f := m.Field("offset"); f != nil && len(f.Integers) > 0 {
		return f.Integers[0]
	}
	return -1
}
