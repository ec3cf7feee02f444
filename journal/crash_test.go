package journal

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// crash returns the storage a power loss would leave at this instant: the
// directory as of the last syncDir (files created since are gone, files
// removed since are back), each file with the bytes it synced plus a random
// part of the rest — the kernel may have written some of it back — which
// sometimes ends in zeros, as when a file grew before its data reached the
// disk.
func (m *memStorage) crash(rng *rand.Rand) *memStorage {
	m.mu.Lock()
	defer m.mu.Unlock()
	files := make(map[*memFile]bool)
	for _, f := range m.files {
		files[f] = true
	}
	for _, f := range m.dir {
		files[f] = true
	}
	for f := range files { // hold every file still: one instant
		f.mu.RLock()
	}
	defer func() {
		for f := range files {
			f.mu.RUnlock()
		}
	}()
	out := newMemStorage(true)
	for name, f := range m.dir {
		keep := f.synced + rng.IntN(len(f.data)-f.synced+1)
		data := append([]byte(nil), f.data[:keep]...)
		if keep > f.synced && rng.IntN(4) == 0 {
			clear(data[f.synced+rng.IntN(keep-f.synced):])
		}
		nf := &memFile{data: data, synced: len(data), mod: f.mod}
		out.files[name], out.dir[name] = nf, nf
	}
	return out
}

// TestPowerLoss cuts the power at random instants while records are
// appended, read and committed, and recovers what the disk would hold: every
// record made durable before the cut is there, in order, from the reader's
// cursor on; the cursor never runs ahead of what the reader committed; and
// no record is read twice or out of order.
func TestPowerLoss(t *testing.T) {
	for _, p := range []SyncPolicy{SyncBatch, SyncAlways} {
		t.Run(p.String(), func(t *testing.T) {
			for round := range 4 {
				powerLossRound(t, p, uint64(round))
			}
		})
	}
}

func powerLossRound(t *testing.T, p SyncPolicy, seed uint64) {
	store := newMemStorage(true)
	opts := Options{Sync: p, SyncInterval: 1e6, SegmentSize: 64 << 10, MaxBytes: 1 << 20}
	j := openStore(t, store, opts)
	r, err := j.Reader("r")
	if err != nil {
		t.Fatal(err)
	}
	var durable, progress atomic.Uint64
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(3)
	for w := range 2 { // two appenders, one of them waiting for durability
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil {
				n := 1 + rng.IntN(20)
				recs := make([][]byte, n)
				for k := range recs {
					recs[k] = recN(0, 100+rng.IntN(300)) // renumbered below
				}
				if w == 0 {
					pos, err := appendNumbered(ctx, j, recs)
					if err != nil || j.WaitDurable(ctx, pos) != nil {
						return
					}
					storeMax(&durable, pos.Seq)
				} else if _, err := appendNumbered(ctx, j, recs); err != nil {
					return
				}
			}
		}()
	}
	go func() { // the reader
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 9))
		for ctx.Err() == nil {
			b, err := r.Next(ctx, 1+rng.IntN(300))
			if err != nil {
				return
			}
			progress.Store(b.End.Seq)
			if rng.IntN(3) > 0 && r.Commit(b.End) != nil {
				return
			}
		}
	}()

	type cut struct {
		store         *memStorage
		before, after uint64
	}
	var cuts []cut
	rng := rand.New(rand.NewPCG(seed, 99))
	for len(cuts) < 20 {
		// Let the workload run for a random number of records.
		for target := j.Stats().Head.Seq + uint64(rng.IntN(400)); j.Stats().Head.Seq < target; {
			runtime.Gosched()
		}
		before := durable.Load()
		crashed := store.crash(rng)
		cuts = append(cuts, cut{store: crashed, before: before, after: progress.Load()})
	}
	stop()
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	for k, c := range cuts {
		j := openStore(t, c.store, opts)
		var cursor Pos
		for _, rs := range j.Stats().Readers {
			if rs.Name == "r" {
				cursor = rs.Committed
			}
		}
		if cursor.Seq > c.after {
			t.Fatalf("cut %d: cursor %v is ahead of what the reader committed (%d)", k, cursor, c.after)
		}
		r, err := j.Reader("r")
		if err != nil {
			t.Fatal(err)
		}
		next := int(cursor.Seq)
		for i := range readAllNumbered(t, r) {
			switch {
			case i < next:
				t.Fatalf("cut %d: record %d read again or out of order (want %d)", k, i, next)
			case i > next && uint64(next) < c.before:
				t.Fatalf("cut %d: records %d…%d were durable but are gone", k, next, i-1)
			}
			next = i + 1
		}
		if uint64(next) < c.before {
			t.Fatalf("cut %d: records %d…%d were durable but are gone", k, next, c.before-1)
		}
		// The recovered journal works (the reader committed all: there is
		// room).
		if _, err := j.Append(ctxT(t), []byte("after")); err != nil {
			t.Fatal(err)
		}
		r.Close()
		j.Close()
	}
}

func storeMax(v *atomic.Uint64, x uint64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// numbering serialises appendNumbered, so that the number written into a
// record is its sequence number.
var numbering sync.Mutex

// appendNumbered writes into each record its sequence number, which it
// knows from the journal's head, and appends them.
func appendNumbered(ctx context.Context, j *Journal, recs [][]byte) (Pos, error) {
	numbering.Lock()
	defer numbering.Unlock()
	j.mu.Lock()
	seq := int(j.head.Seq)
	j.mu.Unlock()
	for k := range recs {
		copy(recs[k], recN(seq+k, 16))
	}
	return j.Append(ctx, recs...)
}

// readAllNumbered yields the numbers of the records r reads up to the head,
// committing them.
func readAllNumbered(t *testing.T, r *Reader) func(func(int) bool) {
	return func(yield func(int) bool) {
		head := r.j.Stats().Head
		r.j.mu.Lock()
		pos := r.c.read
		r.j.mu.Unlock()
		for pos.Off < head.Off {
			b, err := r.Next(ctxT(t), 1000)
			if err != nil {
				t.Fatal(err)
			}
			for i, data := range b.Records {
				k := recIndex(t, data)
				if seq := b.After(i).Seq - 1; seq != uint64(k) {
					t.Fatalf("record %d read at sequence number %d", k, seq)
				}
				if !yield(k) {
					return
				}
			}
			pos = b.End
			if err := r.Commit(pos); err != nil {
				t.Fatal(err)
			}
		}
	}
}
