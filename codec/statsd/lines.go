package statsd

import (
	"bytes"
	"iter"
)

// Lines iterates over the lines of buf, a datagram or a buffer of whole
// lines: it splits at "\n", drops a "\r" before it, and skips empty lines;
// the last line needs no newline. The lines are subslices of buf.
//
//	for line := range statsd.Lines(datagram) {
//		err := statsd.Parse(line, &m)
//		…
//	}
func Lines(buf []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(buf) > 0 {
			line := buf
			if i := bytes.IndexByte(buf, '\n'); i >= 0 {
				line, buf = buf[:i], buf[i+1:]
			} else {
				buf = nil
			}
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) > 0 && !yield(line) {
				return
			}
		}
	}
}
