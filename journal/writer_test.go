package journal

import (
	"encoding/binary"
	"sync"
	"testing"
)

// TestAppendWritesWhenIdle: an Append that finds nothing pending and no
// write under way has written its records to the segment when it returns,
// without waiting for the writer goroutine.
func TestAppendWritesWhenIdle(t *testing.T) {
	j := openDir(t, t.TempDir(), Options{Sync: SyncNever, SegmentSize: 64 << 10})
	r, err := j.Reader("r") // keeps the segments until it has read them
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000 // several segments: appenders roll them too
	for i := range n {
		pos, err := j.Append(ctxT(t), rec(i))
		if err != nil {
			t.Fatal(err)
		}
		j.mu.Lock()
		written := j.written
		j.mu.Unlock()
		if written != pos {
			t.Fatalf("record %d: Append returned with %v written, want %v", i, written, pos)
		}
	}
	if s := j.Stats(); s.Segments < 3 {
		t.Fatalf("%d segments, want several", s.Segments)
	}
	got := readAll(t, r)
	if len(got) != n {
		t.Fatalf("read %d records, want %d", len(got), n)
	}
	for i, k := range got {
		if k != i {
			t.Fatalf("record %d read in place %d", k, i)
		}
	}
}

// TestConcurrentAppenders: appenders that write their own records and
// appenders that leave them to the writer goroutine, all at once, across
// segment rolls: every record is read once, each appender's in its order.
func TestConcurrentAppenders(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			j := m.open(t, Options{SegmentSize: 64 << 10})
			r, err := j.Reader("r")
			if err != nil {
				t.Fatal(err)
			}
			const appenders, each = 8, 2000
			var wg sync.WaitGroup
			for a := range appenders {
				wg.Go(func() {
					for i := 0; i < each; {
						k := min(1+i%7, each-i) // batches of 1 to 7 records
						recs := make([][]byte, k)
						for x := range recs {
							recs[x] = binary.BigEndian.AppendUint32([]byte{byte(a)}, uint32(i+x))
						}
						var err error
						if a%2 == 0 {
							_, err = j.Append(ctxT(t), recs...)
						} else if _, err = j.TryAppend(recs...); err == ErrFull {
							continue // try the batch again
						}
						if err != nil {
							t.Error(err)
							return
						}
						i += k
					}
				})
			}
			next := make([]uint32, appenders)
			for total := 0; total < appenders*each; {
				b, err := r.Next(ctxT(t), 1000)
				if err != nil {
					t.Fatal(err)
				}
				for _, data := range b.Records {
					if len(data) != 5 || int(data[0]) >= appenders {
						t.Fatalf("record %q is none that was appended", data)
					}
					a, i := data[0], binary.BigEndian.Uint32(data[1:])
					if i != next[a] {
						t.Fatalf("appender %d: read record %d, want %d", a, i, next[a])
					}
					next[a]++
					total++
				}
				if err := r.Commit(b.End); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			if s := j.Stats(); s.Appended != appenders*each {
				t.Fatalf("%d records appended, want %d", s.Appended, appenders*each)
			}
		})
	}
}
