// Package tail is the input that follows log files: each line (or each
// group of lines, for multi-line records such as stack traces) becomes a
// message.
//
// The input polls: every poll_interval it expands its globs, stats every
// file, and reads what was appended. Polling works on every file system
// (NFS and overlay ones included) and keeps the input one goroutine.
//
// # Files and rotation
//
// A file is known by its device and inode plus a fingerprint, a hash of its
// first fingerprint_size bytes:
//
//	rename rotation   app.log → app.log.1: same inode. The open file is read
//	                  to its end (and for rotate_wait after, for writers that
//	                  still hold it), then closed; the new app.log is read
//	                  from its start.
//	copytruncate      the inode stays, its size drops below what was read or
//	                  its fingerprint changes (checked after every read, so
//	                  nothing read from new content is taken for the old):
//	                  read again from the start. A matched file whose
//	                  fingerprint equals a known file's, now or before one
//	                  of its last 8 truncations, is a copy of it (app.log.1
//	                  made by copytruncate, even found after more
//	                  rotations): it is read from where the original was,
//	                  which recovers lines appended just before the
//	                  truncation. A line half written when the file was
//	                  truncated is read whole from the copy, or, if no copy
//	                  turns up within rotate_wait, delivered as it was.
//	inode reuse       a known inode with another fingerprint is a new file.
//
// # Offsets
//
// Read offsets are kept in a state file in state_dir, replaced atomically
// (write, fsync, rename, fsync of the directory) only after the journal
// holds (durably) the lines up to them: a restart neither repeats nor skips
// a line. Lines read and not yet delivered when the router is killed are
// read again: at least once.
package tail

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [input.NAME] table of a tail input.
type Config struct {
	// Paths are the files to follow: paths or globs (filepath.Match
	// syntax), expanded at every poll so new files are found.
	Paths []string `toml:"paths"`
	// Exclude are globs matched against the base names of files found by
	// Paths; matching files are not read (compressed rotations, say).
	Exclude []string `toml:"exclude"`
	// StateDir holds the state file with the read offsets. Give each tail
	// input its own directory.
	StateDir string `toml:"state_dir"`
	// PollInterval is how often the globs are expanded and files checked
	// for new data.
	PollInterval config.Duration `toml:"poll_interval"`
	// StartAt is where a file found at the first start (no state) is
	// read from: "beginning" or "end". Files appearing later are always
	// read from their beginning.
	StartAt string `toml:"start_at"`
	// RotateWait is how long a rotated-away file keeps being read after
	// its last growth, for writers that still hold it open.
	RotateWait config.Duration `toml:"rotate_wait"`
	// FingerprintSize is how many leading bytes identify a file's content.
	FingerprintSize int `toml:"fingerprint_size"`
	// MaxLineSize bounds a line (or a multi-line record) in bytes; longer
	// ones are cut at the limit, delivered with the field truncated=true,
	// and the rest up to the newline skipped.
	MaxLineSize int `toml:"max_line_size"`
	// Encoding of the files: "utf-8", "latin-1", "utf-16le" or "utf-16be".
	// Lines are converted to UTF-8; invalid bytes become U+FFFD.
	Encoding string `toml:"encoding"`
	// StartPattern, when set, is a regular expression matching the first
	// line of a record: following lines that do not match are appended to
	// it (stack traces). Empty means every line is a record.
	StartPattern string `toml:"start_pattern"`
	// FlushTimeout delivers a multi-line record when no line has followed
	// it for this long.
	FlushTimeout config.Duration `toml:"flush_timeout"`
	// Format of the lines: "text" (the line is the payload), "metlog-json"
	// or "heka-json" (every line is such a JSON object; others are
	// rejected), or "auto" (lines that decode as metlog or Heka JSON are
	// messages, others text).
	Format string `toml:"format"`
	// Type of the messages made from text lines.
	Type string `toml:"message_type"`
	// Logger of the messages made from text lines; empty means the file's
	// base name.
	Logger string `toml:"logger"`
	// Severity of the messages made from text lines.
	Severity int `toml:"severity"`
	// PathField, when set, names a field holding the file's path.
	PathField string `toml:"path_field"`
	// OffsetField, when set, names a field holding the record's byte offset
	// in the file.
	OffsetField string `toml:"offset_field"`
	// Batch is the most messages appended to the journal at once.
	Batch int `toml:"batch"`
	// StateInterval is the least time between writes of the state file
	// while lines flow; it is always written when the input stops. A crash
	// repeats at most this much.
	StateInterval config.Duration `toml:"state_interval"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Exclude:         []string{"*.gz", "*.bz2", "*.xz", "*.zst", "*.zip"},
		StateDir:        "metlog-data/tail",
		PollInterval:    config.Duration(250 * time.Millisecond),
		StartAt:         "beginning",
		RotateWait:      config.Duration(5 * time.Second),
		FingerprintSize: 256,
		MaxLineSize:     64 << 10,
		Encoding:        "utf-8",
		FlushTimeout:    config.Duration(time.Second),
		Format:          "text",
		Type:            "logfile",
		Severity:        int(metlog.Info),
		PathField:       "path",
		Batch:           1024,
		StateInterval:   config.Duration(time.Second),
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Paths) == 0 {
		errs = append(errs, errors.New("paths: name at least one file or glob"))
	}
	for _, p := range append(append([]string(nil), c.Paths...), c.Exclude...) {
		if _, err := filepath.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("glob %q: %v", p, err))
		}
	}
	if c.StateDir == "" {
		errs = append(errs, errors.New("state_dir must be set"))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, errors.New("poll_interval must be positive"))
	}
	if c.StartAt != "beginning" && c.StartAt != "end" {
		errs = append(errs, fmt.Errorf("start_at %q: want beginning or end", c.StartAt))
	}
	if c.RotateWait < 0 || c.FlushTimeout < 0 || c.StateInterval < 0 {
		errs = append(errs, errors.New("rotate_wait, flush_timeout and state_interval must not be negative"))
	}
	if c.FingerprintSize < 16 || c.FingerprintSize > 64<<10 {
		errs = append(errs, fmt.Errorf("fingerprint_size %d: want 16..65536", c.FingerprintSize))
	}
	if c.MaxLineSize < 64 || c.MaxLineSize > 16<<20 {
		errs = append(errs, fmt.Errorf("max_line_size %d: want 64..16777216", c.MaxLineSize))
	}
	if _, ok := encodings[c.Encoding]; !ok {
		errs = append(errs, fmt.Errorf("encoding %q: want utf-8, latin-1, utf-16le or utf-16be", c.Encoding))
	}
	if _, err := regexp.Compile(c.StartPattern); err != nil {
		errs = append(errs, fmt.Errorf("start_pattern: %v", err))
	}
	if _, ok := formats[c.Format]; !ok {
		errs = append(errs, fmt.Errorf("format %q: want text, auto, metlog-json or heka-json", c.Format))
	}
	if c.Type == "" {
		errs = append(errs, errors.New("message_type must be set"))
	}
	if c.Severity < 0 || c.Severity > 7 {
		errs = append(errs, fmt.Errorf("severity %d: want 0..7", c.Severity))
	}
	if c.Batch < 1 || c.Batch > 65536 {
		errs = append(errs, fmt.Errorf("batch %d: want 1..65536", c.Batch))
	}
	return errors.Join(errs...)
}

// formats maps the format setting to how JSON lines are read; text lines
// use none.
var formats = map[string]struct {
	json   bool // lines may be JSON
	strict bool // lines must be JSON
	format input.Format
}{
	"text":        {},
	"auto":        {json: true, format: input.FormatAuto},
	"metlog-json": {json: true, strict: true, format: input.FormatMetlogJSON},
	"heka-json":   {json: true, strict: true, format: input.FormatHekaJSON},
}

// Input follows the configured files. Run reads them.
type Input struct {
	cfg      Config
	log      *slog.Logger
	start    *regexp.Regexp // nil: every line is a record
	enc      encoding
	dec      input.Decoder
	host     string
	counters input.Counters
	state    *stateFile
}

// New validates cfg and creates the state directory; Run reads the state.
func New(cfg Config, log *slog.Logger) (*Input, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	in := &Input{cfg: cfg, log: log, enc: encodings[cfg.Encoding]}
	if cfg.StartPattern != "" {
		in.start = regexp.MustCompile(cfg.StartPattern)
	}
	in.dec = input.Decoder{MaxSize: cfg.MaxLineSize, Format: formats[cfg.Format].format}
	in.host, _ = os.Hostname()
	st, err := openState(cfg.StateDir, cfg.Paths)
	if err != nil {
		return nil, err
	}
	in.state = st
	return in, nil
}

// Counters returns the input's running totals.
func (in *Input) Counters() *input.Counters { return &in.counters }

// Run follows the files until ctx ends, then delivers what it has read,
// writes the state file and returns.
func (in *Input) Run(ctx context.Context, sink input.Sink) error {
	if err := in.state.load(); err != nil {
		return err
	}
	t := newTailer(in, sink)
	defer t.closeAll()
	ticker := time.NewTicker(time.Duration(in.cfg.PollInterval))
	defer ticker.Stop()
	for {
		busy := t.poll(ctx)
		if ctx.Err() != nil {
			return t.stop()
		}
		if busy {
			continue // more to read: poll again at once
		}
		select {
		case <-ctx.Done():
			return t.stop()
		case <-ticker.C:
		}
	}
}
