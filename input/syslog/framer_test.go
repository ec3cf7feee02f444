package syslog

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type frame struct {
	msg       string
	truncated bool
}

func TestFramer(t *testing.T) {
	long := strings.Repeat("x", 40)
	tests := []struct {
		name   string
		stream string
		want   []frame
	}{
		{"newline", "<13>a\n<13>b\r\n\n<13>c", []frame{{"<13>a", false}, {"<13>b", false}, {"", false}, {"<13>c", false}}},
		{"newline long", "<13>" + long + "\n<13>b\n" + long + "\r\n", []frame{{("<13>" + long)[:32], true}, {"<13>b", false}, {long[:32], true}}},
		{"newline exact", long[:32] + "\r\n" + long[:33] + "\n", []frame{{long[:32], false}, {long[:32], true}}},
		{"octet", "5 <13>a6 <13>bc\n7 <13>\nde", []frame{{"<13>a", false}, {"<13>bc", false}, {"<13>\nde", false}}},
		{"octet long", "44 <13>" + long + "5 <13>b", []frame{{("<13>" + long)[:32], true}, {"<13>b", false}}},
		{"octet cut short", "10 <13>a", []frame{{"<13>a", false}}},
		{"octet bad count", "5 <13>a12x <13>b\n<13>c\n", []frame{{"<13>a", false}, {"12x <13>b", false}, {"<13>c", false}}},
		{"octet all digits", "5 <13>a123", []frame{{"<13>a", false}, {"123", false}}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 2, 5, 1 << 20} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, chunk), func(t *testing.T) {
				r := iotest.OneByteReader(strings.NewReader(tt.stream))
				if chunk > 1 {
					r = &chunkReader{s: tt.stream, n: chunk}
				}
				f := newFramer(r, 32, nil)
				var got []frame
				for {
					msg, tr, err := f.next()
					if err != nil {
						if !errors.Is(err, io.EOF) {
							t.Fatal(err)
						}
						break
					}
					got = append(got, frame{string(msg), tr})
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("got  %+v\nwant %+v", got, tt.want)
				}
			})
		}
	}
}

// chunkReader returns s n bytes at a time.
type chunkReader struct {
	s string
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s[:min(r.n, len(r.s))])
	r.s = r.s[n:]
	return n, nil
}

func TestFramerStop(t *testing.T) {
	f := newFramer(strings.NewReader("<13>a\n"), 32, func() bool { return false })
	if _, _, err := f.next(); !errors.Is(err, errStop) {
		t.Errorf("got %v, want errStop", err)
	}
}
