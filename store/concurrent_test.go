package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Queries run while batches are written and retention drops partitions
// under them.
func TestQueriesDuringWritesAndRetention(t *testing.T) {
	msgs := generated(1500)
	s := openTest(t, func(c *Config) { c.MaxAge.UnmarshalText([]byte("1h")) })
	var mu sync.Mutex
	now := base.Add(time.Hour)
	s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ctx := context.Background()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.Messages(ctx, Query{Match: "Payload =~ /worker/", Limit: 20}); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Series(ctx, SeriesQuery{Kind: "timer", Names: []string{"db.latency"},
					From: base.UnixNano(), To: base.Add(4 * time.Hour).UnixNano()}); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Exceptions(ctx, ExceptionQuery{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i, m := range msgs {
		if i%100 == 0 {
			mu.Lock()
			now = m.Time().Add(30 * time.Minute) // drops partitions as time moves on
			mu.Unlock()
			s.lastGC = time.Time{}
		}
		if err := s.Write(ctx, msgs[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if st := s.Stats(); st.Partitions > 2 {
		t.Errorf("%d partitions kept, want at most 2", st.Partitions)
	}
}
