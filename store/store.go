package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
)

// Store keeps messages queryable. It is an output of the router (Write)
// and answers queries (Messages, Series, Exceptions) concurrently with
// writes. Create one with New and Close it when done.
type Store struct {
	cfg Config
	log *slog.Logger
	// now is the clock used for retention; tests replace it.
	now func() time.Time

	// wmu serialises Write, retention and Close.
	wmu    sync.Mutex
	ing    ingester
	lastGC time.Time
	closed bool

	// mu guards parts, sorted by start.
	mu    sync.RWMutex
	parts []*partition

	stored, duplicates, expired atomic.Uint64
}

// New opens the store in cfg.Path, creating the directory when missing,
// and opens every partition file found there.
func New(cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Path, 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Store{cfg: cfg, log: log, now: time.Now}
	s.ing = newIngester(cfg.FullText)
	entries, err := os.ReadDir(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	ctx := context.Background()
	for _, e := range entries {
		if e.IsDir() || !isPartitionFile(e.Name()) {
			continue
		}
		p, err := openPartition(ctx, filepath.Join(cfg.Path, e.Name()), 0, 0, false, cfg.FullText, log)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.parts = append(s.parts, p)
	}
	slices.SortFunc(s.parts, func(a, b *partition) int { return cmpInt64(a.start, b.start) })
	for _, p := range s.parts {
		if err := s.ing.loadGauges(ctx, p); err != nil {
			s.Close()
			return nil, fmt.Errorf("store: %s: %w", filepath.Base(p.path), err)
		}
	}
	return s, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ErrClosed is returned by a Store that was closed.
var ErrClosed = errors.New("store: closed")

// Write stores batch. Messages already stored (by UUID) are skipped, and
// so are messages older than the retention age. The store keeps nothing
// of batch after it returns.
func (s *Store) Write(ctx context.Context, batch []*metlog.Message) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return ErrClosed
	}
	now := s.now()
	oldest := int64(-1 << 63)
	if s.cfg.MaxAge > 0 {
		oldest = now.Add(-s.cfg.MaxAge.D()).UnixNano()
	}
	created := false
	for len(batch) > 0 {
		// The run of messages that fall into one partition.
		m := batch[0]
		if m.Timestamp < oldest {
			s.expired.Add(1)
			batch = batch[1:]
			continue
		}
		p, isNew, err := s.partitionFor(ctx, m.Timestamp)
		if err != nil {
			return err
		}
		created = created || isNew
		n := 1
		for n < len(batch) && batch[n].Timestamp >= p.start && batch[n].Timestamp < p.end {
			n++
		}
		var run []*metlog.Message
		for _, m := range batch[:n] {
			if m.Timestamp >= oldest {
				run = append(run, m)
			} else {
				s.expired.Add(1)
			}
		}
		stored, err := s.ing.insert(ctx, p, run)
		if err != nil {
			return err
		}
		s.stored.Add(uint64(stored))
		s.duplicates.Add(uint64(len(run) - stored))
		batch = batch[n:]
	}
	if created || now.Sub(s.lastGC) >= 10*time.Second {
		s.lastGC = now
		s.retain(now)
	}
	return nil
}

// partitionFor returns the partition holding timestamp ts, creating it
// when there is none. A new partition spans the configured partition
// length, aligned to the epoch, cut short where it would overlap a
// neighbour (after the partition length was changed).
func (s *Store) partitionFor(ctx context.Context, ts int64) (*partition, bool, error) {
	s.mu.RLock()
	i, found := slices.BinarySearchFunc(s.parts, ts, func(p *partition, ts int64) int {
		switch {
		case ts < p.start:
			return 1
		case ts >= p.end:
			return -1
		}
		return 0
	})
	var p *partition
	if found {
		p = s.parts[i]
	}
	s.mu.RUnlock()
	if p != nil {
		return p, false, nil
	}
	d := int64(s.cfg.Partition.D())
	start := ts - ts%d
	if ts < 0 && ts%d != 0 {
		start -= d
	}
	end := start + d
	if i > 0 {
		start = max(start, s.parts[i-1].end)
	}
	if i < len(s.parts) {
		end = min(end, s.parts[i].start)
	}
	p, err := openPartition(ctx, filepath.Join(s.cfg.Path, partitionName(start)), start, end, true, s.cfg.FullText, s.log)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	s.parts = slices.Insert(s.parts, i, p)
	s.mu.Unlock()
	s.log.Debug("store partition created", "file", filepath.Base(p.path))
	return p, true, nil
}

// retain drops the partitions past the age limit, then the oldest while
// the store is over its size limit, keeping the newest partition.
func (s *Store) retain(now time.Time) {
	s.mu.Lock()
	var drop []*partition
	if s.cfg.MaxAge > 0 {
		oldest := now.Add(-s.cfg.MaxAge.D()).UnixNano()
		for len(s.parts) > 0 && s.parts[0].end <= oldest {
			drop = append(drop, s.parts[0])
			s.parts = s.parts[1:]
		}
	}
	if s.cfg.MaxBytes > 0 {
		sizes := make([]int64, len(s.parts))
		var total int64
		for i, p := range s.parts {
			sizes[i] = p.size()
			total += sizes[i]
		}
		for i := 0; total > s.cfg.MaxBytes && len(s.parts) > 1; i++ {
			drop = append(drop, s.parts[0])
			total -= sizes[i]
			s.parts = s.parts[1:]
		}
	}
	s.parts = slices.Clip(s.parts)
	s.mu.Unlock()
	for _, p := range drop {
		s.log.Info("store partition dropped by retention", "file", filepath.Base(p.path))
		if err := p.remove(); err != nil {
			s.log.Warn("store partition removal", "file", filepath.Base(p.path), "err", err)
		}
	}
}

// partitions returns the partitions overlapping [from, to), newest first.
// to == 0 means no upper bound.
func (s *Store) partitions(from, to int64) []*partition {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*partition
	for i := len(s.parts) - 1; i >= 0; i-- {
		p := s.parts[i]
		if to != 0 && p.start >= to {
			continue
		}
		if p.end <= from {
			break
		}
		out = append(out, p)
	}
	return out
}

// Stats are a store's running totals.
type Stats struct {
	// Stored counts messages written; Duplicates those skipped because a
	// message with their UUID and timestamp was stored already; Expired
	// those older than the retention age.
	Stored     uint64 `json:"stored"`
	Duplicates uint64 `json:"duplicates"`
	Expired    uint64 `json:"expired"`
	// Partitions is the number of partitions and Bytes the size of their
	// files.
	Partitions int   `json:"partitions"`
	Bytes      int64 `json:"bytes"`
	// IndexLag is how many messages are stored but not yet in the
	// full-text index (an upper bound: ids of skipped duplicates count).
	IndexLag int64 `json:"index_lag"`
}

// Stats returns the store's totals and size.
func (s *Store) Stats() Stats {
	st := Stats{Stored: s.stored.Load(), Duplicates: s.duplicates.Load(), Expired: s.expired.Load()}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st.Partitions = len(s.parts)
	for _, p := range s.parts {
		st.Bytes += p.size()
		if p.ix != nil {
			st.IndexLag += p.ix.lag()
		}
	}
	return st
}

// syncIndex waits until the full-text index holds every message stored
// when it was called, for at most d per partition.
func (s *Store) syncIndex(ctx context.Context, d time.Duration) {
	s.mu.RLock()
	parts := slices.Clone(s.parts)
	s.mu.RUnlock()
	for _, p := range parts {
		if p.ix != nil {
			p.ix.wait(ctx, d)
		}
	}
}

// Close closes every partition. Queries still running finish first.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.closed = true
	s.mu.Lock()
	parts := s.parts
	s.parts = nil
	s.mu.Unlock()
	var err error
	for _, p := range parts {
		err = errors.Join(err, p.close())
	}
	return err
}
