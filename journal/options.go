package journal

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// SyncPolicy says when the journal calls fsync.
type SyncPolicy uint8

// The sync policies. The zero value is SyncBatch.
const (
	// SyncBatch syncs at most every Options.SyncInterval, and at once when
	// someone waits in WaitDurable. Appends return without waiting.
	SyncBatch SyncPolicy = iota
	// SyncAlways makes every append durable before Append returns;
	// concurrent appends share one fsync (group commit).
	SyncAlways
	// SyncNever leaves flushing to the operating system: records survive a
	// crash of the process, not of the machine. WaitDurable returns once
	// records are written to the segment file.
	SyncNever
)

var policyNames = [...]string{SyncBatch: "batch", SyncAlways: "always", SyncNever: "never"}

// String returns the policy's config name: "batch", "always" or "never".
func (p SyncPolicy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("SyncPolicy(%d)", uint8(p))
}

// ParseSyncPolicy parses a config name as written by String.
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	for p, name := range policyNames {
		if s == name {
			return SyncPolicy(p), nil
		}
	}
	return 0, fmt.Errorf("journal: sync policy %q: want \"always\", \"batch\" or \"never\"", s)
}

// UnmarshalText implements encoding.TextUnmarshaler for config files.
func (p *SyncPolicy) UnmarshalText(b []byte) error {
	v, err := ParseSyncPolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (p SyncPolicy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Defaults for zero Options fields.
const (
	DefaultSyncInterval      = 50 * time.Millisecond
	DefaultSegmentSize       = 64 << 20
	DefaultMaxBytes          = 1 << 30
	DefaultMemorySegmentSize = 4 << 20
	DefaultMemoryMaxBytes    = 64 << 20
)

// Internal limits.
const (
	minMaxBytes    = 1 << 20
	minSegmentSize = 64 << 10
	pendingLimit   = 4 << 20 // bytes accepted but not yet written, for Append
	// pendingLimitNoWait is pendingLimit for TryAppend, whose callers
	// (UDP inputs) drop what does not fit rather than wait: room for the
	// writer to stall for about 100ms at 150 MB/s of appends without a
	// loss (the writer's own buffer of up to as much aside).
	pendingLimitNoWait     = 16 << 20
	cursorCompactThreshold = 1 << 20 // cursor log size that triggers a rewrite
)

// Options configure a journal. The zero value is ready to use.
type Options struct {
	// Sync is when records are fsynced; default SyncBatch.
	Sync SyncPolicy

	// SyncInterval is how often SyncBatch syncs records and every policy
	// writes reader cursors; default 50ms.
	SyncInterval time.Duration

	// SegmentSize is the size at which the active segment file is sealed
	// and a new one started; default 64 MiB (4 MiB in memory). It is
	// lowered to MaxBytes/4 when larger, so that retention can always free
	// space. A segment may exceed it by one write batch.
	SegmentSize int64

	// MaxBytes bounds how far the slowest reader may lag, in framed bytes;
	// default 1 GiB (64 MiB in memory), minimum 1 MiB. Beyond it, Append
	// waits and TryAppend fails with ErrFull — unless DropUnread is set.
	// Disk use stays below MaxBytes plus about one segment.
	MaxBytes int64

	// DropUnread makes retention delete the oldest segments when a reader
	// lags beyond MaxBytes (or data is older than MaxAge), instead of
	// applying backpressure. The records a reader loses are counted in its
	// ReaderStats.Lost.
	DropUnread bool

	// MaxAge, with DropUnread, deletes sealed segments whose newest record
	// is older than this, read or not. Zero means no age limit.
	MaxAge time.Duration

	// Logger receives recovery reports and write errors; default
	// slog.Default().
	Logger *slog.Logger
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults(memory bool) Options {
	if o.SyncInterval <= 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
		if memory {
			o.MaxBytes = DefaultMemoryMaxBytes
		}
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
		if memory {
			o.SegmentSize = DefaultMemorySegmentSize
		}
	}
	o.SegmentSize = min(o.SegmentSize, o.MaxBytes/4)
	o.SegmentSize = max(o.SegmentSize, minSegmentSize)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// validate reports options that cannot work; zero fields are fine.
func (o Options) validate() error {
	var errs []error
	if o.Sync > SyncNever {
		errs = append(errs, fmt.Errorf("unknown sync policy %d", o.Sync))
	}
	if o.MaxBytes != 0 && o.MaxBytes < minMaxBytes {
		errs = append(errs, fmt.Errorf("max bytes %d: want at least %d (or 0 for the default)", o.MaxBytes, minMaxBytes))
	}
	if o.SegmentSize < 0 {
		errs = append(errs, fmt.Errorf("segment size %d: want a positive size", o.SegmentSize))
	}
	if o.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("max age %v: want a positive duration", o.MaxAge))
	}
	if o.MaxAge > 0 && !o.DropUnread {
		errs = append(errs, errors.New("max age deletes unread records and needs drop unread"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("journal: options: %w", err)
	}
	return nil
}
