package metlogjson

import (
	"bytes"
	"io"
	"strconv"
	"unsafe"

	"github.com/metlog/metlog"
)

// Decoder reads metlog JSON messages one after another from a stream:
// newline-delimited, or indented over several lines as metlog-py's
// StreamSender writes them, or any mix. See the package documentation for
// how it resumes after bad input.
//
// A Decoder reads ahead, buffering at most about Limits.MaxSize bytes. It is
// not safe for concurrent use. The payloads of the messages it decodes
// share memory blocks of 8 KiB: keeping one payload keeps its block; clone
// it (strings.Clone) to keep it alone for long.
type Decoder struct {
	// Limits bound each message; set them before the first Decode.
	Limits Limits
	// Reserved, if set, names fields the caller must see: NextRecord
	// decodes a message with such a field into a Message rather than
	// transcoding it. Set it before the first NextRecord.
	Reserved func(name []byte) bool

	r      io.Reader
	buf    []byte // buffered input; buf[pos:] is unread
	pos    int
	off    int64 // stream offset of buf[0]
	rerr   error // the reader's error (io.EOF at the end), once it has one
	resync bool  // skip to the next line that starts with '{'
	// readSize is the smallest buffer reads are made into; 0 means 4096.
	readSize int
	dec      decoder
	fields   []plainField // NextRecord's, reused
	last     lastLine     // NextRecord's
}

// NewDecoder returns a Decoder reading from r in reads of at least 4 KiB.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, dec: decoder{slabs: true}}
}

// NewDecoderSize returns a Decoder reading from r in reads of at least
// size bytes: larger reads mean fewer system calls on a busy stream.
func NewDecoderSize(r io.Reader, size int) *Decoder {
	return &Decoder{r: r, readSize: size, dec: decoder{slabs: true}}
}

// InputOffset returns the offset in the stream just after the last message
// read, or the bad input last skipped.
func (d *Decoder) InputOffset() int64 { return d.off + int64(d.pos) }

// Decode reads the next message into m, reusing m's storage as Limits.Decode
// does. It returns io.EOF when the stream ends where a message could start,
// an *Error for a bad message (call Decode again for the next one), and any
// other error from the reader.
func (d *Decoder) Decode(m *metlog.Message) error {
	lim := d.Limits.withDefaults()
	nl, err := d.start(lim)
	if err != nil {
		return err
	}
	return d.decodeFrom(m, lim, nl)
}

// start moves to the start of the next message, reading as needed, and
// returns the offset from there of the first newline if the message may
// be that line (0 if not).
func (d *Decoder) start(lim Limits) (nl int, err error) {
	if err := d.begin(lim); err != nil {
		return 0, err
	}
	return d.lineEnd(lim), nil
}

// lineEnd returns the offset from pos of the first newline if the message
// there may be that line (0 if not).
func (d *Decoder) lineEnd(lim Limits) int {
	if nl := bytes.IndexByte(d.buf[d.pos:], '\n'); nl <= lim.MaxSize {
		return max(nl, 0)
	}
	return 0
}

// begin moves to the '{' starting the next message, reading as needed.
func (d *Decoder) begin(lim Limits) error {
	if d.resync {
		if !d.skipToMessage() {
			return d.readErr()
		}
	}
	for {
		for d.pos < len(d.buf) && isSpace(d.buf[d.pos]) {
			d.pos++
		}
		if d.pos < len(d.buf) {
			break
		}
		if !d.fill(lim) {
			return d.readErr()
		}
	}
	if c := d.buf[d.pos]; c != '{' {
		d.resync = true
		return &Error{Offset: d.InputOffset(), Kind: ErrSyntax, Msg: "unexpected " + quoteByte(c) + ", want '{' starting a message"}
	}
	return nil
}

// decodeFrom decodes the message that starts at buf[pos] into m; nl is
// what start returned.
func (d *Decoder) decodeFrom(m *metlog.Message, lim Limits, nl int) error {
	// Fast path: most streams are one message a line. Try the line as it
	// is; a message spread over lines (or a broken one) fails to parse and
	// takes the framing path below, which finds where it really ends.
	if nl > 0 && d.parse(m, lim, d.pos+nl) == nil {
		d.pos = d.dec.i
		return nil
	}
	end, err := d.framed(lim)
	if err != nil {
		return err
	}
	err = d.parse(m, lim, end)
	d.pos = end
	return err
}

// framed is frame, setting the decoder to resume after a framing error.
func (d *Decoder) framed(lim Limits) (int, error) {
	end, err := d.frame(lim)
	if err != nil {
		d.pos++ // past the '{', to look for the next message
		d.resync = true
	}
	return end, err
}

// parse decodes the message in buf[pos:end] into m; d.dec.i is the index
// in buf where it ended.
//
// The decoder reads buf itself, cut at end, from pos: the slice then
// points where it did for the message before, and is stored again only
// when buf has moved (a pointer store costs a write barrier while the
// garbage collector marks). It stays set between calls, holding only what
// buf holds.
func (d *Decoder) parse(m *metlog.Message, lim Limits, end int) error {
	if unsafe.SliceData(d.dec.data) != unsafe.SliceData(d.buf) || cap(d.dec.data) != cap(d.buf) {
		d.dec.data = d.buf
	}
	d.dec.data = d.dec.data[:end]
	d.dec.i = d.pos
	d.dec.base = d.off
	d.dec.lim = lim
	d.dec.m = m
	err := d.dec.message()
	d.dec.m = nil
	return err
}

// frame finds the end of the object starting at buf[pos] by matching braces
// and brackets outside strings, reading more input as needed. It returns the
// index in buf just after the object.
func (d *Decoder) frame(lim Limits) (int, error) {
	depth := 0
	inStr, esc := false, false
	for k := 0; ; {
		for ; d.pos+k < len(d.buf); k++ {
			if k >= lim.MaxSize {
				return 0, &Error{Offset: d.InputOffset() + int64(k), Kind: ErrTooLarge,
					Msg: "message longer than " + strconv.Itoa(lim.MaxSize) + " bytes"}
			}
			c := d.buf[d.pos+k]
			if inStr {
				if !esc && !strSpecial[c] {
					k = min(skipPlain(d.buf, d.pos+k)-d.pos, lim.MaxSize) - 1
					continue
				}
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
				case c < 0x20:
					return 0, &Error{Offset: d.InputOffset() + int64(k), Kind: ErrSyntax,
						Msg: "control character " + quoteByte(c) + " in string (truncated message?)"}
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return d.pos + k + 1, nil
				}
			}
		}
		if !d.fill(lim) {
			if d.rerr != io.EOF {
				return 0, d.readErr()
			}
			return 0, &Error{Offset: d.InputOffset() + int64(k), Kind: ErrSyntax,
				Msg: "unexpected end of input (truncated message)"}
		}
	}
}

// skipToMessage discards input up to the next line that starts with '{'.
// It reports false if the input ends first.
func (d *Decoder) skipToMessage() bool {
	for {
		i := bytes.IndexByte(d.buf[d.pos:], '\n')
		if i < 0 {
			d.pos = len(d.buf)
			if !d.fill(d.Limits.withDefaults()) {
				return false
			}
			continue
		}
		d.pos += i + 1
		for d.pos >= len(d.buf) {
			if !d.fill(d.Limits.withDefaults()) {
				return false
			}
		}
		if d.buf[d.pos] == '{' {
			d.resync = false
			return true
		}
	}
}

// fill reads more input into buf, first dropping what was read, and
// reports whether it got any.
func (d *Decoder) fill(lim Limits) bool {
	if d.rerr != nil {
		return false
	}
	if d.pos > 0 {
		n := copy(d.buf, d.buf[d.pos:])
		d.buf = d.buf[:n]
		d.off += int64(d.pos)
		d.pos = 0
	}
	if len(d.buf) == cap(d.buf) {
		size := max(2*cap(d.buf), d.readSize, 4096)
		size = min(size, max(lim.MaxSize+1, len(d.buf)+4096))
		d.buf = append(make([]byte, 0, size), d.buf...)
	}
	for range 100 {
		n, err := d.r.Read(d.buf[len(d.buf):cap(d.buf)])
		d.buf = d.buf[:len(d.buf)+n]
		if err != nil {
			d.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	d.rerr = io.ErrNoProgress
	return false
}

// readErr returns the reader's error: io.EOF at the end of the stream.
func (d *Decoder) readErr() error {
	if d.rerr == nil {
		return io.ErrNoProgress
	}
	return d.rerr
}
