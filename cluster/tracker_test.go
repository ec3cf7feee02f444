package cluster

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

// tracker follows heka files as routers write them, noting when each
// message (by payload) first appears, for latencies, and how often and
// with which UUIDs it appears, for loss and duplicates.
type tracker struct {
	prefix string // payloads counted start with it
	files  []*followed

	mu    sync.Mutex
	first map[string]time.Time // payload → first seen
	sent  map[string]int64     // payload → message Timestamp
	count map[string]int
	uuids map[string]map[metlog.UUID]bool

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type followed struct {
	path string
	off  int64
	buf  []byte
}

// newTracker follows paths (which may not exist yet) every 5ms until
// Close.
func newTracker(prefix string, paths ...string) *tracker {
	tr := &tracker{prefix: prefix, first: map[string]time.Time{}, sent: map[string]int64{},
		count: map[string]int{}, uuids: map[string]map[metlog.UUID]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, p := range paths {
		tr.files = append(tr.files, &followed{path: p})
	}
	go tr.run()
	return tr
}

func (tr *tracker) run() {
	defer close(tr.done)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, f := range tr.files {
			tr.read(f)
		}
		select {
		case <-tr.stop:
			return
		case <-tick.C:
		}
	}
}

// read parses what was appended to f since the last call.
func (tr *tracker) read(f *followed) {
	file, err := os.Open(f.path)
	if err != nil {
		return
	}
	defer file.Close()
	if _, err := file.Seek(f.off, io.SeekStart); err != nil {
		return
	}
	chunk, _ := io.ReadAll(file)
	f.off += int64(len(chunk))
	f.buf = append(f.buf, chunk...)
	now := time.Now()
	var rec heka.Record
	var m metlog.Message
	pos := 0
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for pos < len(f.buf) {
		n, err := heka.ParseRecord(f.buf[pos:], &rec, 0)
		if errors.Is(err, heka.ErrShortRecord) {
			break
		}
		if err != nil {
			pos++ // not expected: resynchronise on the next separator
			continue
		}
		pos += n
		if heka.Unmarshal(rec.Message, &m) != nil || !strings.HasPrefix(m.Payload, tr.prefix) {
			continue
		}
		p := strings.Clone(m.Payload)
		if _, ok := tr.first[p]; !ok {
			tr.first[p], tr.sent[p] = now, m.Timestamp
			tr.uuids[p] = map[metlog.UUID]bool{}
		}
		tr.count[p]++
		tr.uuids[p][m.UUID] = true
	}
	f.buf = f.buf[:copy(f.buf, f.buf[pos:])]
}

// seen returns how many distinct messages arrived.
func (tr *tracker) seen() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.first)
}

// Close stops following, after reading everything written so far.
func (tr *tracker) Close() {
	tr.once.Do(func() {
		close(tr.stop)
		<-tr.done
		for _, f := range tr.files {
			tr.read(f)
		}
	})
}

// report summarises what arrived: total records, distinct messages, the
// messages that came with more than one UUID, and latency percentiles.
type report struct {
	total, distinct, multiUUID int
	p50, p99, max              time.Duration
}

func (tr *tracker) report() report {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	r := report{distinct: len(tr.first)}
	lat := make([]time.Duration, 0, len(tr.first))
	for p, at := range tr.first {
		r.total += tr.count[p]
		if len(tr.uuids[p]) != 1 {
			r.multiUUID++
		}
		lat = append(lat, at.Sub(time.Unix(0, tr.sent[p])))
	}
	if len(lat) > 0 {
		sortDurations(lat)
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[len(lat)*99/100]
		r.max = lat[len(lat)-1]
	}
	return r
}
