package statsd

import (
	"context"
	"sync"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
)

// lineSink is an inputtest.Sink that keeps the messages of the lines in
// the records the input delivers, as every reader of the journal sees
// them.
type lineSink struct {
	*inputtest.Sink
	mu      sync.Mutex
	exp     *Expander
	records int
}

func newLineSink(full bool) *lineSink {
	return &lineSink{Sink: &inputtest.Sink{Full: full}, exp: NewExpander()}
}

func (s *lineSink) Deliver(ctx context.Context, msgs []*metlog.Message, opts input.DeliverOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exp.Reset()
	var lines []*metlog.Message
	for _, m := range msgs {
		if m.Type != RecordType {
			panic("the statsd input delivered a message that is not a record: " + m.Type)
		}
		s.records++
		lines, _ = s.exp.Expand(lines, m, 0, 0)
	}
	return s.Sink.Deliver(ctx, lines, opts)
}
