// Package exceptions is the aggregator that groups exceptions: it gives
// every "exception" message a fingerprint — its error types and the
// application's own top stack frames, so that it stays the same when line
// numbers drift or a new build is deployed — and every flush interval
// emits one derived "exception_group" message per group seen in the
// period, with how many times it happened, when first and last, and one
// sample. The web UI's exceptions page is built on these.
//
// # Fingerprint
//
// An application may choose the group itself with a "fingerprint" field
// (metlog.FieldFingerprint); its values are the fingerprint. Otherwise the
// fingerprint hashes:
//
//   - the Go type of every error in the chain (error.type), in order;
//   - the first Frames frames flagged as the application's own
//     (stack.in_app), each as package path and function name, with the
//     numbers of closures left out ("main.handler.func3" → "main.handler.func"),
//     so neither line numbers, file paths nor the order of closures in a
//     file matter. A message without in-app flags uses its frames outside
//     the standard library, and failing those its top frames;
//   - with no stack at all, the message text with digits masked.
//
// Groups are kept per application (the message's Logger): the same
// fingerprint from two applications makes two groups.
//
// # Periods
//
// Counts, first and last seen are per period, between two flushes, and
// use the messages' own timestamps. A period is re-read after a crash
// (see router.Aggregator), so nothing is lost and periods may only be cut
// differently; totals over time are sums of counts, first seen the
// earliest first_seen, last seen the latest last_seen.
package exceptions

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [aggregate.NAME] table of an exceptions aggregator.
type Config struct {
	// FlushInterval is how often group messages are emitted.
	FlushInterval config.Duration `toml:"flush_interval"`
	// Frames is how many of the application's top frames make the
	// fingerprint.
	Frames int `toml:"frames"`
	// MaxGroups bounds the groups kept in one period; exceptions of any
	// further group are counted in one group with the fingerprint
	// "overflow".
	MaxGroups int `toml:"max_groups"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{FlushInterval: config.Duration(10 * time.Second), Frames: 3, MaxGroups: 10000}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if c.FlushInterval <= 0 {
		errs = append(errs, errors.New("flush_interval must be positive"))
	}
	if c.Frames < 1 || c.Frames > 64 {
		errs = append(errs, errors.New("frames: want 1..64"))
	}
	if c.MaxGroups < 1 {
		errs = append(errs, errors.New("max_groups must be positive"))
	}
	return errors.Join(errs...)
}

// TypeGroup is the type of the messages the aggregator emits.
const TypeGroup = "exception_group"

// Fields of a group message, besides a copy of the sample's exception
// fields (error.*, stack.*, mechanism, go.version).
const (
	FieldFingerprint = "fingerprint" // string: the group's fingerprint
	FieldCount       = "count"       // int: exceptions in the period
	FieldFirstSeen   = "first_seen"  // int, ns since the epoch (representation "ns")
	FieldLastSeen    = "last_seen"   // int, ns since the epoch (representation "ns")
	FieldSampleUUID  = "sample_uuid" // string: UUID of the sample message
	FieldCulprit     = "culprit"     // string: the top in-app function, when known
)

// OverflowFingerprint is the fingerprint of the group that collects
// exceptions beyond MaxGroups.
const OverflowFingerprint = "overflow"

// Aggregator groups exceptions. The router calls it from one goroutine.
type Aggregator struct {
	cfg    Config
	log    *slog.Logger
	groups map[groupKey]*group
}

type groupKey struct{ logger, fingerprint string }

type group struct {
	count       int64
	first, last int64
	severity    metlog.Severity
	sample      *metlog.Message // the first of the period
	culprit     string
	firstAdded  int // order of arrival, for a stable emit order
}

// New returns an aggregator.
func New(cfg Config, log *slog.Logger) (*Aggregator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Aggregator{cfg: cfg, log: log, groups: map[groupKey]*group{}}, nil
}

// FlushInterval is Config.FlushInterval.
func (a *Aggregator) FlushInterval() time.Duration { return a.cfg.FlushInterval.D() }

// Add counts m in its group.
func (a *Aggregator) Add(m *metlog.Message) {
	fp := Fingerprint(m, a.cfg.Frames)
	key := groupKey{m.Logger, fp}
	g := a.groups[key]
	if g == nil {
		if len(a.groups) >= a.cfg.MaxGroups {
			key.fingerprint = OverflowFingerprint
			g = a.groups[key]
		}
		if g == nil {
			g = &group{first: m.Timestamp, last: m.Timestamp, severity: m.Severity, sample: sampleOf(m),
				culprit: culprit(m), firstAdded: len(a.groups)}
			a.groups[key] = g
		}
	}
	g.count++
	g.first = min(g.first, m.Timestamp)
	g.last = max(g.last, m.Timestamp)
	g.severity = min(g.severity, m.Severity)
}

// Flush emits a group message per group of the period and starts a new
// period.
func (a *Aggregator) Flush(now time.Time, emit func(*metlog.Message)) {
	if len(a.groups) == 0 {
		return
	}
	keys := make([]groupKey, 0, len(a.groups))
	for k := range a.groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y groupKey) int { return a.groups[x].firstAdded - a.groups[y].firstAdded })
	for _, k := range keys {
		g := a.groups[k]
		s := g.sample
		m := &metlog.Message{
			Timestamp:  now.UnixNano(),
			Type:       TypeGroup,
			Logger:     k.logger,
			Severity:   g.severity,
			Payload:    s.Payload,
			EnvVersion: metlog.EnvVersion,
			Hostname:   s.Hostname,
			Pid:        s.Pid,
		}
		m.Fields = append(m.Fields,
			metlog.String(FieldFingerprint, k.fingerprint),
			metlog.Int(FieldCount, g.count),
			metlog.Int(FieldFirstSeen, g.first).WithRepresentation("ns"),
			metlog.Int(FieldLastSeen, g.last).WithRepresentation("ns"),
			metlog.String(FieldSampleUUID, s.UUID.String()))
		if g.culprit != "" {
			m.Fields = append(m.Fields, metlog.String(FieldCulprit, g.culprit))
		}
		m.Fields = append(m.Fields, s.Fields...)
		emit(m)
	}
	if len(a.groups) >= a.cfg.MaxGroups {
		a.log.Warn("more exception groups than max_groups in one period; the rest were counted as overflow",
			"max_groups", a.cfg.MaxGroups)
	}
	clear(a.groups)
}

// sampleOf copies what a group message keeps of its sample: the envelope
// and the exception fields.
func sampleOf(m *metlog.Message) *metlog.Message {
	s := &metlog.Message{UUID: m.UUID, Payload: m.Payload, Hostname: m.Hostname, Pid: m.Pid}
	for i := range m.Fields {
		f := &m.Fields[i]
		if strings.HasPrefix(f.Name, "error.") || strings.HasPrefix(f.Name, "stack.") ||
			f.Name == metlog.FieldMechanism || f.Name == metlog.FieldGoVersion {
			s.Fields = append(s.Fields, f.Clone())
		}
	}
	return s
}

// Fingerprint returns the fingerprint of the exception m (see the package
// documentation), from up to frames of its top application frames: 16
// hex digits.
func Fingerprint(m *metlog.Message, frames int) string {
	h := sha256.New()
	if f := m.Field(metlog.FieldFingerprint); f != nil && f.Len() > 0 {
		h.Write([]byte("custom"))
		for i := range f.Len() {
			h.Write([]byte{0})
			if b, ok := f.Value(i).([]byte); ok {
				h.Write(b)
			} else {
				fmt.Fprint(h, f.Value(i))
			}
		}
		return hex.EncodeToString(h.Sum(nil)[:8])
	}
	h.Write([]byte("types"))
	if f := m.Field(metlog.FieldErrorType); f != nil && f.Type == metlog.TypeString && len(f.Strings) > 0 {
		for _, t := range f.Strings {
			h.Write([]byte{0})
			h.Write([]byte(t))
		}
	} else {
		h.Write([]byte{0})
		h.Write([]byte(m.Type))
	}
	h.Write([]byte{1})
	top := topFrames(m, frames)
	if len(top) == 0 {
		h.Write([]byte("message\x00"))
		h.Write([]byte(maskDigits(m.Payload)))
	}
	for _, fr := range top {
		h.Write([]byte(fr))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// topFrames returns up to n frames that make the fingerprint: the
// application's own, else those outside the standard library, else the
// top ones; each as "package.function" with closure numbers left out.
func topFrames(m *metlog.Message, n int) []string {
	fn := m.Field(metlog.FieldStackFunc)
	if fn == nil || fn.Type != metlog.TypeString || len(fn.Strings) == 0 {
		return nil
	}
	var inApp []bool
	if f := m.Field(metlog.FieldStackInApp); f != nil && f.Type == metlog.TypeBool && len(f.Bools) == len(fn.Strings) {
		inApp = f.Bools
	}
	pick := func(keep func(i int, name string) bool) []string {
		var out []string
		for i, name := range fn.Strings {
			if len(out) == n {
				break
			}
			if keep(i, name) {
				out = append(out, normalizeFunc(name))
			}
		}
		return out
	}
	if inApp != nil {
		if out := pick(func(i int, _ string) bool { return inApp[i] }); len(out) > 0 {
			return out
		}
	}
	if out := pick(func(_ int, name string) bool { return !stdlib(name) }); len(out) > 0 {
		return out
	}
	return pick(func(int, string) bool { return true })
}

// culprit is the function of the top frame that makes the fingerprint.
func culprit(m *metlog.Message) string {
	if top := topFrames(m, 1); len(top) == 1 {
		return top[0]
	}
	return ""
}

// stdlib reports whether a function name belongs to the standard library:
// its package path's first element has no dot.
func stdlib(fn string) bool {
	first := fn
	if i := strings.IndexByte(fn, '/'); i >= 0 {
		first = fn[:i]
	} else if i := strings.IndexByte(fn, '.'); i >= 0 {
		first = fn[:i]
	}
	return first != "main" && !strings.Contains(first, ".")
}

// normalizeFunc leaves the numbers out of closure and wrapper names:
// "main.handler.func3.1" → "main.handler.func.", "x.F.gowrap2" → "x.F.gowrap".
func normalizeFunc(name string) string {
	if !strings.Contains(name, ".func") && !strings.Contains(name, ".gowrap") && !hasDigitSegment(name) {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= '0' && c <= '9' && i > 0 && (inClosureName(name[:i]) || name[i-1] == '.') {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// inClosureName reports whether prefix ends in ".func" or ".gowrap"
// followed by digits.
func inClosureName(prefix string) bool {
	p := strings.TrimRight(prefix, "0123456789")
	return strings.HasSuffix(p, ".func") || strings.HasSuffix(p, ".gowrap")
}

// hasDigitSegment reports whether a dotted segment starts with a digit
// (the nested closures "func1.2.3").
func hasDigitSegment(name string) bool {
	for i := 1; i < len(name); i++ {
		if name[i-1] == '.' && name[i] >= '0' && name[i] <= '9' {
			return true
		}
	}
	return false
}

// maskDigits replaces every run of digits with "#", so that IDs and counts
// in a message do not split its group.
func maskDigits(s string) string {
	var b strings.Builder
	digits := false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteRune(r)
	}
	return b.String()
}
