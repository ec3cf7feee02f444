package input

import "testing"

func TestCounters(t *testing.T) {
	var c Counters
	c.Received(3, 300)
	c.Dropped(2)
	c.Rejected(ReasonTooLarge)
	c.Rejected(ReasonTooLarge)
	c.Rejected(Reason(200)) // ignored, never panics
	s := c.Snapshot()
	if s.Received != 3 || s.Bytes != 300 || s.Dropped != 2 || s.Rejected["too_large"] != 2 || s.Rejected["malformed"] != 0 {
		t.Errorf("snapshot %+v", s)
	}
	if len(s.Rejected) != len(Reasons()) {
		t.Errorf("every reason must be in the snapshot: %v", s.Rejected)
	}
}
