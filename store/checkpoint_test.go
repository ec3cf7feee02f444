package store

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/metlog/metlog"
)

func TestCommittedKicks(t *testing.T) {
	tests := []struct {
		name    string
		writes  []int
		kicks   int
		pending int
	}{
		{"nothing", nil, 0, 0},
		{"below", []int{checkpointBytes - 1}, 0, checkpointBytes - 1},
		{"reached", []int{checkpointBytes}, 1, 0},
		{"summed", []int{checkpointBytes / 2, checkpointBytes / 2}, 1, 0},
		{"twice", []int{checkpointBytes, 1, checkpointBytes}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &partition{ckpt: &checkpointer{kick: make(chan struct{}, 1)}}
			kicks := 0
			for _, n := range tt.writes {
				p.committed(n)
				select {
				case <-p.ckpt.kick:
					kicks++
				default:
				}
			}
			if kicks != tt.kicks || p.unckpt != tt.pending {
				t.Errorf("kicks %d, pending %d; want %d, %d", kicks, p.unckpt, tt.kicks, tt.pending)
			}
		})
	}
}

// TestCheckpointWhileWriting writes past a checkpoint with queries
// running, then reopens the store: every message is there once.
func TestCheckpointWhileWriting(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 3))
	start := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	const batches, size = 40, 1000
	done := make(chan struct{})
	queried := make(chan struct{})
	go func() {
		defer close(queried)
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := s.Messages(ctx, Query{Words: []string{"timeout"}, Limit: 10}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	written := 0
	var kept [][]*metlog.Message
	for i := range batches {
		b := benchMessages(rng, start, time.Minute, i*size, size, batches*size)
		for _, m := range b {
			written += m.ProtobufSize()
		}
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, b)
	}
	close(done)
	<-queried
	if written < checkpointBytes {
		t.Fatalf("wrote %d bytes, want at least a checkpoint's worth", written)
	}
	// The checkpointer, not the writer (whose backstop is far off), has
	// copied the log into the database file once stopped (closing a
	// file checkpoints it too).
	dir := s.cfg.Path
	parts := s.partitions(math.MinInt64, math.MaxInt64)
	if len(parts) != 1 {
		t.Fatalf("%d partitions, want 1", len(parts))
	}
	parts[0].stopCheckpointer()
	fi, err := os.Stat(parts[0].path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < checkpointBytes/4 {
		t.Errorf("database file of %d bytes after a checkpoint, want some megabytes", fi.Size())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := s.cfg
	cfg.Path = dir
	s2, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, b := range kept {
		if err := s2.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if st := s2.Stats(); st.Stored != 0 || st.Duplicates != batches*size {
		t.Errorf("rewritten after reopening: %+v, want every message a duplicate", st)
	}
}
