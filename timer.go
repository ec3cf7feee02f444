package metlog

import "time"

// Timer measures one run of a named operation; Stop sends the elapsed time
// as a "timer" message whose payload is whole milliseconds. It is a small
// value, so starting and stopping one does not allocate:
//
//	defer c.Timer("db_query").Stop()
//
// The zero Timer, and one started for a disabled name, measures nothing:
// Stop sends nothing and returns 0.
type Timer struct {
	c      *Client
	name   string
	rate   float64
	start  int64 // mono()
	fields []Field
}

// Timer starts timing name. The fields are sent with the message, before
// any given to Stop.
func (c *Client) Timer(name string, fields ...Field) Timer {
	if !c.timerOK || !c.timers.enabled(name) {
		return Timer{}
	}
	return Timer{c: c, name: name, rate: 1, start: mono(), fields: fields}
}

// Rate returns t with sample rate rate: Stop sends the message with that
// probability, and the message carries the rate (0 or less sends nothing).
func (t Timer) Rate(rate float64) Timer {
	t.rate = rate
	return t
}

// Stop sends the time elapsed since the timer started, with fields added
// to those given to Client.Timer, and returns it.
func (t Timer) Stop(fields ...Field) time.Duration {
	c := t.c
	if c == nil {
		return 0
	}
	now := mono()
	d := time.Duration(now - t.start)
	if !c.sample(t.rate) {
		return d
	}
	f := t.fields
	if len(fields) > 0 {
		f = append(f[:len(f):len(f)], fields...)
	}
	c.enqueue(record{kind: kindTimer, sev: c.severity, ts: c.wallOffset.Load() + now,
		name: t.name, n: int64(d), f: t.rate}, f)
	return d
}

// Time runs fn and sends its duration as the timer name, even when fn
// panics. It returns the duration (0 when the timer is disabled).
func (c *Client) Time(name string, fn func(), fields ...Field) (d time.Duration) {
	t := c.Timer(name, fields...)
	defer func() { d = t.Stop() }()
	fn()
	return
}

// Timing sends d as a "timer" message for name, like metlog-py's
// timer_send: for durations measured elsewhere. Disabled timer names are
// honoured.
func (c *Client) Timing(name string, d time.Duration, fields ...Field) {
	c.SampledTiming(name, d, 1, fields...)
}

// SampledTiming is Timing with a sample rate; see Timer.Rate.
func (c *Client) SampledTiming(name string, d time.Duration, rate float64, fields ...Field) {
	if !c.timerOK || !c.timers.enabled(name) || !c.sample(rate) {
		return
	}
	c.enqueue(record{kind: kindTimer, sev: c.severity, ts: c.wallNow(),
		name: name, n: int64(d), f: rate}, fields)
}
