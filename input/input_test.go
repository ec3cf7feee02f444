package input

import "testing"

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
	}{
		{"{\"type\": \"x\"}", FormatMetlogJSON},
		{"\n  {", FormatMetlogJSON},
		{"\x1e\x02\x08\x01\x1f", FormatHeka},
		{"", FormatUnknown},
		{"   ", FormatUnknown},
		{"page_views:1|c", FormatUnknown},
	} {
		if got := Detect([]byte(tc.in)); got != tc.want {
			t.Errorf("Detect(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

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
