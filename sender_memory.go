package metlog

import (
	"context"
	"sync"
)

// MemorySender keeps every message it is sent, for tests and examples:
//
//	mem := metlog.NewMemorySender()
//	c := metlog.New(mem)
//	c.Incr("x")
//	c.Flush(ctx)          // or c.Close()
//	msgs := mem.Messages()
//
// It is safe for concurrent use.
type MemorySender struct {
	mu   sync.Mutex
	msgs []*Message
}

// NewMemorySender returns an empty MemorySender.
func NewMemorySender() *MemorySender { return &MemorySender{} }

// Send keeps a copy of each message.
func (s *MemorySender) Send(_ context.Context, msgs []*Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		s.msgs = append(s.msgs, m.Clone())
	}
	return nil
}

// Close does nothing; the messages stay readable.
func (s *MemorySender) Close() error { return nil }

// Messages returns the messages received so far, oldest first. The slice
// is the caller's; the messages are shared with later calls.
func (s *MemorySender) Messages() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Message, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// Len returns how many messages were received.
func (s *MemorySender) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Reset forgets the messages received so far.
func (s *MemorySender) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
}
