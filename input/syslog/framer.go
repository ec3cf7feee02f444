package syslog

import (
	"bytes"
	"errors"
	"io"
)

// Stream framings (RFC 6587).
const (
	framingUnknown = iota
	framingNewline // "non-transparent": each message ends in LF
	framingOctet   // "octet counting": "LEN SP MSG"
)

// maxLenDigits is the most digits an octet count may have.
const maxLenDigits = 9

// framer splits a syslog stream into messages. The framing is decided by
// the stream's first byte: a digit means octet counting, anything else
// newline framing. An octet count that does not parse switches the rest
// of the stream to newline framing, so that nothing after it is lost.
//
// Messages over max bytes are cut to max bytes and reported as truncated;
// the rest of them is read and dropped.
type framer struct {
	r   io.Reader
	max int
	// beforeRead is called before each Read that may block; when it returns
	// false, next stops with errStop.
	beforeRead func() bool

	buf        []byte
	start, end int // buf[start:end] is read and not yet framed
	err        error
	framing    int
	skip       int  // bytes of an octet-counted message over max still to drop
	skipLine   bool // dropping the rest of a line over max
}

// readSize is the least room each Read gets.
const readSize = 64 << 10

func newFramer(r io.Reader, max int, beforeRead func() bool) *framer {
	return &framer{r: r, max: max, beforeRead: beforeRead, buf: make([]byte, max+maxLenDigits+2+readSize)}
}

// errStop is returned by next when beforeRead said stop.
var errStop = errors.New("stopped")

// next returns the next message, which is valid until the next call, and
// whether it was cut to max bytes. At the end of the stream it returns
// the Read error (io.EOF for a clean end), after any last message without
// its newline.
func (f *framer) next() (msg []byte, truncated bool, err error) {
	for {
		if f.skip > 0 {
			n := min(f.skip, f.end-f.start)
			f.start += n
			f.skip -= n
		}
		if f.skip == 0 && f.start < f.end {
			if f.framing == framingUnknown {
				f.framing = framingNewline
				if c := f.buf[f.start]; c >= '1' && c <= '9' {
					f.framing = framingOctet
				}
			}
			var ok bool
			if f.framing == framingOctet {
				msg, truncated, ok = f.octet()
			} else {
				msg, truncated, ok = f.line()
			}
			if ok {
				return msg, truncated, nil
			}
		}
		if f.err != nil {
			if f.framing == framingNewline && !f.skipLine && f.start < f.end {
				// The last line needs no newline.
				msg = bytes.TrimSuffix(f.buf[f.start:f.end], []byte("\r"))
				f.start = f.end
				if len(msg) > f.max {
					return msg[:f.max], true, nil
				}
				return msg, false, nil
			}
			return nil, false, f.err
		}
		f.fill()
	}
}

// line frames a newline-terminated message; ok is false when more input
// is needed.
func (f *framer) line() (msg []byte, truncated, ok bool) {
	b := f.buf[f.start:f.end]
	i := bytes.IndexByte(b, '\n')
	if f.skipLine {
		if i < 0 {
			f.start = f.end
			return nil, false, false
		}
		f.start += i + 1
		f.skipLine = false
		return f.line()
	}
	if i >= 0 {
		line := b[:i]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) <= f.max {
			f.start += i + 1
			return line, false, true
		}
	}
	if i >= 0 || len(b) > f.max+1 { // +1: room for a CR before the LF
		f.start += f.max
		f.skipLine = true
		return b[:f.max], true, true
	}
	return nil, false, false
}

// octet frames an octet-counted message; ok is false when more input is
// needed.
func (f *framer) octet() (msg []byte, truncated, ok bool) {
	b := f.buf[f.start:f.end]
	// Some senders end octet-counted messages with a newline as well.
	for len(b) > 0 && (b[0] == '\n' || b[0] == '\r') {
		f.start++
		b = b[1:]
	}
	if len(b) == 0 {
		return nil, false, false
	}
	n, i := 0, 0
	for i < len(b) && i < maxLenDigits && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int(b[i]-'0')
		i++
	}
	if i == len(b) && f.err == nil {
		return nil, false, false // the count goes on
	}
	if i == 0 || i == len(b) || b[i] != ' ' || n == 0 {
		f.framing = framingNewline
		return f.line()
	}
	hdr := i + 1
	if n <= f.max {
		if len(b) < hdr+n {
			if f.err != nil { // cut short: keep what came
				f.start = f.end
				return b[hdr:], false, true
			}
			return nil, false, false
		}
		f.start += hdr + n
		return b[hdr : hdr+n], false, true
	}
	if len(b) < hdr+f.max && f.err == nil {
		return nil, false, false
	}
	take := min(f.max, len(b)-hdr)
	f.start += hdr + take
	f.skip = n - take
	return b[hdr : hdr+take], true, true
}

// fill moves the unframed bytes to the front of buf and reads more.
func (f *framer) fill() {
	if f.start > 0 {
		f.end = copy(f.buf, f.buf[f.start:f.end])
		f.start = 0
	}
	if f.beforeRead != nil && !f.beforeRead() {
		f.err = errStop
		return
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if err != nil {
		f.err = err
	}
}
