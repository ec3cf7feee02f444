package heka

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrTruncatedRecord is returned (wrapped, with the byte count) by
// Reader.Next when the stream ends inside a record.
var ErrTruncatedRecord = errors.New("heka: stream ends inside a record")

// minBuffer is the Reader's initial buffer size; it grows as far as the
// largest record allowed.
const minBuffer = 4096

// Reader reads records from a heka stream, skipping garbage between them
// exactly as Heka's framing splitter does:
//
//	find the next 0x1E ─▶ read header length byte L (any value, even 0x1E)
//	      ▲                 ─▶ byte at 2+L is 0x1F?  ─ no ─┐
//	      │                 ─▶ header decodes and its     │
//	      │                    message_length ≤ limit? ─ no┤
//	      │                 ─▶ wait for the whole message, │
//	      │                    yield the record            │
//	      └──────────── skip that one 0x1E byte ◀──────────┘
//
// Bytes skipped are counted (Skipped). When the stream ends inside a record
// (or inside something that could still have been one), Next reports
// ErrTruncatedRecord and counts those bytes as Truncated; Heka leaves them
// buffered and never emits them. A Reader is not safe for concurrent use.
type Reader struct {
	r          io.Reader
	maxMessage int
	maxRecord  int
	buf        []byte
	start, end int   // buf[start:end] is read but not yet consumed
	err        error // sticky error from r
	rec        Record
	skipped    int64
	truncated  int64
	done       bool
}

// NewReader returns a Reader of r that accepts messages of up to maxMessage
// bytes, or MaxMessageSize when maxMessage is 0 or less.
func NewReader(r io.Reader, maxMessage int) *Reader {
	if maxMessage <= 0 {
		maxMessage = MaxMessageSize
	}
	return &Reader{r: r, maxMessage: maxMessage, maxRecord: 3 + MaxHeaderSize + maxMessage}
}

// NewReaderSize is NewReader with a first buffer of size bytes: on a busy
// stream, larger reads mean fewer system calls.
func NewReaderSize(r io.Reader, maxMessage, size int) *Reader {
	rd := NewReader(r, maxMessage)
	rd.buf = make([]byte, min(max(size, minBuffer), rd.maxRecord))
	return rd
}

// Reset makes r read from src as if it were new, keeping its buffer and
// limit, so that one Reader can serve connection after connection.
func (r *Reader) Reset(src io.Reader) {
	*r = Reader{r: src, maxMessage: r.maxMessage, maxRecord: r.maxRecord, buf: r.buf}
}

// Next returns the next record. The record and its slices point into the
// Reader's buffer and are valid until the next call to Next. At the end of
// the stream Next returns io.EOF, or first an error wrapping
// ErrTruncatedRecord when the stream ended inside a record. Errors from the
// underlying reader other than io.EOF are returned as they are, after the
// records read before them.
func (r *Reader) Next() (*Record, error) {
	for {
		if r.done {
			return nil, io.EOF
		}
		n, err := r.find()
		if err == nil {
			r.start += n
			return &r.rec, nil
		}
		if r.err != nil {
			return nil, r.finish()
		}
		r.fill()
	}
}

// find looks for a record in the buffered bytes, skipping garbage. It
// returns the record's length with r.rec filled in, or ErrShortRecord when
// more bytes are needed; r.start then is at the candidate record (or the
// end of the buffer).
func (r *Reader) find() (int, error) {
	for {
		data := r.buf[r.start:r.end]
		i := bytes.IndexByte(data, RecordSeparator)
		if i < 0 {
			r.skip(len(data))
			return 0, ErrShortRecord
		}
		r.skip(i)
		n, err := ParseRecord(r.buf[r.start:r.end], &r.rec, r.maxMessage)
		if err == nil || errors.Is(err, ErrShortRecord) {
			return n, err
		}
		r.skip(1) // not a record: move past this separator and rescan
	}
}

func (r *Reader) skip(n int) {
	r.start += n
	r.skipped += int64(n)
}

// fill reads more bytes, first making room: moving the unconsumed bytes to
// the front, then growing the buffer up to the largest record.
func (r *Reader) fill() {
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	if r.end == len(r.buf) {
		if r.start > 0 {
			r.end = copy(r.buf, r.buf[r.start:r.end])
			r.start = 0
		} else {
			size := min(max(2*len(r.buf), minBuffer), r.maxRecord)
			buf := make([]byte, size)
			r.end = copy(buf, r.buf[r.start:r.end])
			r.start, r.buf = 0, buf
		}
	}
	for range 100 {
		n, err := r.r.Read(r.buf[r.end:])
		if n < 0 || n > len(r.buf)-r.end {
			r.err = errors.New("heka: reader returned an invalid count")
			return
		}
		r.end += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}

// finish reports the end of the stream once find needs bytes that will
// never come.
func (r *Reader) finish() error {
	r.done = true
	tail := r.end - r.start
	r.start = r.end
	if r.err != io.EOF {
		r.truncated += int64(tail)
		return r.err
	}
	if tail > 0 {
		r.truncated += int64(tail)
		return fmt.Errorf("%w: %d bytes", ErrTruncatedRecord, tail)
	}
	return io.EOF
}

// Skipped returns the number of bytes skipped as garbage so far.
func (r *Reader) Skipped() int64 { return r.skipped }

// Truncated returns the number of bytes left unread at the end of the
// stream because they did not complete a record.
func (r *Reader) Truncated() int64 { return r.truncated }
