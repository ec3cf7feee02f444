package harness

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"syscall"
	"time"
)

// outputFile follows a file a system under test writes, the way tail -F
// does: it reads what was appended, and when the path names a new file
// (the old one was rotated away) it finishes the old one and goes on with
// the new. It counts the lines with a sequence number (seqMarker), which
// of them it saw before, and, when latency is set, how long after its
// stamped send time each line was read.
type outputFile struct {
	path    string
	f       *os.File
	ino     uint64
	buf     []byte
	partial []byte

	lines uint64   // lines read
	seqs  uint64   // distinct sequence numbers among them
	dups  uint64   // lines whose sequence number was seen before
	bad   uint64   // lines without a sequence number
	seen  []uint64 // bit set of sequence numbers
	// latency, when not nil, gets now − send time for every line.
	latency *histogram
}

func newOutputFile(path string, latency bool) *outputFile {
	o := &outputFile{path: path, buf: make([]byte, 1<<20)}
	if latency {
		o.latency = &histogram{}
	}
	return o
}

// poll reads everything appended since the last call; it reports whether
// anything was.
func (o *outputFile) poll() (bool, error) {
	grew := false
	for {
		if o.f == nil {
			f, err := os.Open(o.path)
			if errors.Is(err, fs.ErrNotExist) {
				return grew, nil
			}
			if err != nil {
				return grew, err
			}
			o.f, o.ino = f, inode(f)
		}
		n, err := o.readAll()
		grew = grew || n > 0
		if err != nil {
			return grew, err
		}
		// Rotated: the path now names another file. What the old one got
		// before the rename was read just now; a writer that still had it
		// open would be a system without rotation.
		st, err := os.Stat(o.path)
		if err == nil && statIno(st) == o.ino {
			return grew, nil
		}
		if n, err := o.readAll(); err != nil || n > 0 {
			grew = true
		}
		o.f.Close()
		o.f = nil
		if len(o.partial) > 0 {
			o.line(o.partial, time.Now().UnixNano()) // a last line without newline
			o.partial = o.partial[:0]
		}
	}
}

// readAll reads the open file to its end.
func (o *outputFile) readAll() (int, error) {
	total := 0
	for {
		n, err := o.f.Read(o.buf)
		total += n
		if n > 0 {
			o.consume(o.buf[:n])
		}
		if err == io.EOF || n == 0 {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// consume splits data into lines, keeping an unfinished one for later.
func (o *outputFile) consume(data []byte) {
	now := time.Now().UnixNano()
	if len(o.partial) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			o.partial = append(o.partial, data...)
			return
		}
		o.partial = append(o.partial, data[:i]...)
		o.line(o.partial, now)
		o.partial = o.partial[:0]
		data = data[i+1:]
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			o.partial = append(o.partial, data...)
			return
		}
		o.line(data[:i], now)
		data = data[i+1:]
	}
}

func (o *outputFile) line(l []byte, now int64) {
	o.lines++
	seq, ok := parseDigits(l, seqMarker, seqDigits)
	if !ok {
		o.bad++
		return
	}
	w := int(seq / 64)
	if w >= len(o.seen) {
		o.seen = append(o.seen, make([]uint64, w+1-len(o.seen)+len(o.seen)/2)...)
	}
	if o.seen[w]&(1<<(seq%64)) != 0 {
		o.dups++
	} else {
		o.seen[w] |= 1 << (seq % 64)
		o.seqs++
	}
	if o.latency != nil {
		if sent, ok := parseDigits(l, timeMarker, timeDigits); ok && sent > 0 {
			o.latency.add(now - int64(sent))
		}
	}
}

func (o *outputFile) close() {
	if o.f != nil {
		o.f.Close()
		o.f = nil
	}
}

func inode(f *os.File) uint64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return statIno(st)
}

func statIno(st fs.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}

// fileSize is the size of path, 0 when it does not exist.
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// dirSize is the total size of the regular files under dir.
func dirSize(dir string) int64 {
	var total int64
	fsys := os.DirFS(dir)
	fs.WalkDir(fsys, ".", func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

// histogram counts durations in ns in log-linear buckets: 16 per power of
// two, so a quantile is off by at most 1/16 (6%).
type histogram struct {
	counts [64 * 16]uint64
	n      uint64
	max    int64
}

const subBits = 4

func bucketOf(v int64) int {
	if v < 1<<subBits {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 1 // ≥ subBits
	sub := (v >> (e - subBits)) & (1<<subBits - 1)
	return (e-subBits+1)<<subBits + int(sub)
}

// bucketTop is the largest value in bucket b.
func bucketTop(b int) int64 {
	if b < 1<<subBits {
		return int64(b)
	}
	e := b>>subBits + subBits - 1
	sub := int64(b & (1<<subBits - 1))
	return (1<<subBits+sub+1)<<(e-subBits) - 1
}

func (h *histogram) add(v int64) {
	h.counts[bucketOf(v)]++
	h.n++
	h.max = max(h.max, v)
}

// quantile returns the value below which a fraction q of the samples lie
// (the top of the bucket holding it).
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= max(rank, 1) {
			return min(bucketTop(b), h.max)
		}
	}
	return h.max
}
