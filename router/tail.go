package router

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	statsdin "github.com/metlog/metlog/input/statsd"
	"github.com/metlog/metlog/match"
)

// tailHub fans messages out to live-tail subscribers (/api/stream). It is
// best effort by design: a subscriber that cannot keep up loses messages,
// counted and reported to it, and never slows the router down. The journal
// and outputs are the durable path.
type tailHub struct {
	mu   sync.RWMutex
	subs map[*tailSub]struct{}
	n    atomic.Int32 // len(subs), read without the lock on the hot path
}

type tailSub struct {
	m       *match.Matcher
	ch      chan []byte // metlog JSON lines
	dropped atomic.Uint64
}

// publish offers msgs to every subscriber whose matcher accepts them.
func (h *tailHub) publish(msgs []*metlog.Message) {
	if h.n.Load() == 0 {
		return
	}
	if slices.ContainsFunc(msgs, isRecord) { // the messages of its lines instead
		exp := expanders.Get().(*statsdin.Expander)
		defer expanders.Put(exp)
		defer exp.Reset()
		var lines []*metlog.Message
		for _, m := range msgs {
			if isRecord(m) {
				lines, _ = exp.Expand(lines, m, 0, 0)
			} else {
				lines = append(lines, m)
			}
		}
		msgs = lines
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		for _, m := range msgs {
			if !s.m.Match(m) {
				continue
			}
			select {
			case s.ch <- m.AppendJSON(nil):
			default:
				s.dropped.Add(1)
			}
		}
	}
}

// publishRecords is publish for journal records.
func (h *tailHub) publishRecords(recs [][]byte) {
	if h.n.Load() == 0 {
		return
	}
	msgs := make([]metlog.Message, len(recs))
	ptrs := make([]*metlog.Message, 0, len(recs))
	for i, r := range recs {
		if heka.Unmarshal(r, &msgs[i]) == nil {
			ptrs = append(ptrs, &msgs[i])
		}
	}
	h.publish(ptrs)
}

func isRecord(m *metlog.Message) bool { return m.Type == statsdin.RecordType }

// expanders make the messages of statsd records for the tail.
var expanders = sync.Pool{New: func() any { return statsdin.NewExpander() }}

func (h *tailHub) subscribe(m *match.Matcher) *tailSub {
	s := &tailSub{m: m, ch: make(chan []byte, 4096)}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*tailSub]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
	return s
}

func (h *tailHub) unsubscribe(s *tailSub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
}

// serveStream is GET /api/stream?match=EXPR: Server-Sent Events, one
// "message" event per matching message with its metlog JSON as data, and a
// "dropped" event with a count when the client fell behind.
func (r *Router) serveStream(w http.ResponseWriter, req *http.Request) {
	expr := req.URL.Query().Get("match")
	if expr == "" {
		expr = "TRUE"
	}
	m, err := match.Compile(expr)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeJSONError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	s := r.tail.subscribe(m)
	defer r.tail.unsubscribe(s)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": metlog live tail\n\n")
	flusher.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	var reported uint64
	for {
		select {
		case <-req.Context().Done():
			return
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
		case line := <-s.ch:
			fmt.Fprintf(w, "event: message\ndata: %s\n\n", line)
			// Send what else is waiting before flushing.
			for more := len(s.ch); more > 0; more-- {
				fmt.Fprintf(w, "event: message\ndata: %s\n\n", <-s.ch)
			}
		}
		if d := s.dropped.Load(); d != reported {
			fmt.Fprintf(w, "event: dropped\ndata: {\"dropped\": %d}\n\n", d-reported)
			reported = d
		}
		flusher.Flush()
	}
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
