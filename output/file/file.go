// Package file is the output that writes messages to a local file, as text
// lines, metlog JSON lines or a Heka stream, with rotation by size and time
// and reopening for logrotate. A file that ends in part of a line or record
// (the router was killed while writing) is cut back to its last whole one
// when it is opened; the router writes that batch again.
package file

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [output.NAME] table of a file output.
type Config struct {
	// Path of the file. Its directory is created when missing.
	Path string `toml:"path"`
	// Format is "text" (a line per message from Template), "metlog-json"
	// (one JSON object per line) or "heka" (a Heka stream).
	Format string `toml:"format"`
	// Template is the text format's line template; see output.Text.
	Template string `toml:"template"`
	// Mode is the permission of new files, in octal ("0640").
	Mode string `toml:"mode"`
	// DirMode is the permission of directories it creates ("0750").
	DirMode string `toml:"dir_mode"`
	// RotateBytes rotates the file when it would grow beyond this size;
	// 0 disables.
	RotateBytes int64 `toml:"rotate_bytes"`
	// RotateEvery rotates the file at this interval ("24h"); 0 disables.
	RotateEvery config.Duration `toml:"rotate_every"`
	// Keep is how many rotated files to keep; older ones are deleted.
	// 0 keeps them all.
	Keep int `toml:"keep"`
	// Sync fsyncs the file after every batch, so that delivered messages
	// survive a power loss, not only a crash of the router.
	Sync bool `toml:"sync"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{Format: "text", Mode: "0640", DirMode: "0750"}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path must be set"))
	}
	if _, err := output.NewFormat(c.Format, c.Template); err != nil {
		errs = append(errs, err)
	}
	if _, err := parseMode(c.Mode); err != nil {
		errs = append(errs, fmt.Errorf("mode %w", err))
	}
	if _, err := parseMode(c.DirMode); err != nil {
		errs = append(errs, fmt.Errorf("dir_mode %w", err))
	}
	if c.RotateBytes < 0 {
		errs = append(errs, errors.New("rotate_bytes must not be negative"))
	}
	if c.RotateEvery < 0 {
		errs = append(errs, errors.New("rotate_every must not be negative"))
	}
	if c.Keep < 0 {
		errs = append(errs, errors.New("keep must not be negative"))
	}
	return errors.Join(errs...)
}

func parseMode(s string) (os.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("%q: want an octal permission such as \"0640\"", s)
	}
	return os.FileMode(v), nil
}

// Output writes batches to the file. It is safe for concurrent use, though
// the router calls Write from one goroutine.
type Output struct {
	cfg     Config
	format  output.Format
	mode    os.FileMode
	dirMode os.FileMode
	log     *slog.Logger
	now     func() time.Time

	mu     sync.Mutex
	f      *os.File
	size   int64
	opened time.Time
	buf    []byte
}

// New opens (or creates) the file.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	format, _ := output.NewFormat(cfg.Format, cfg.Template)
	mode, _ := parseMode(cfg.Mode)
	dirMode, _ := parseMode(cfg.DirMode)
	o := &Output{cfg: cfg, format: format, mode: mode, dirMode: dirMode, log: log, now: time.Now}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.open(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *Output) open() error {
	if err := os.MkdirAll(filepath.Dir(o.cfg.Path), o.dirMode); err != nil {
		return err
	}
	f, err := os.OpenFile(o.cfg.Path, os.O_RDWR|os.O_APPEND|os.O_CREATE, o.mode)
	if err != nil {
		return err
	}
	size, cut, err := cutTornTail(f, o.cfg.Format)
	if err != nil {
		f.Close()
		return err
	}
	if cut > 0 {
		// The router crashed while writing the last batch; it delivers
		// that batch again, so the partial copy goes.
		o.log.Warn("cut a torn tail off the file", "path", o.cfg.Path, "bytes", cut)
	}
	o.f, o.size, o.opened = f, size, o.now()
	return nil
}

// tornWindow is how much of a Heka stream's end cutTornTail reads: enough
// for several of the largest records, so that the reader is in step with
// the records by the time it reaches the last one.
const tornWindow = 8 << 20

// cutTornTail truncates f after its last whole line (text and JSON
// formats) or record (heka), and returns its size afterwards and how many
// bytes it cut. A router killed in the middle of a write leaves such a
// tail; without the cut, the next line would be glued to it, or the next
// record hidden behind it from readers that do not resynchronise.
func cutTornTail(f *os.File, format string) (size, cut int64, err error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size = st.Size()
	if size == 0 {
		return 0, 0, nil
	}
	keep := size
	if format == "heka" {
		start := max(0, size-tornWindow)
		r := heka.NewReader(io.NewSectionReader(f, start, size-start), heka.MaxMessageSize)
		for {
			if _, err = r.Next(); err != nil {
				break
			}
		}
		switch {
		case errors.Is(err, io.EOF):
		case errors.Is(err, heka.ErrTruncatedRecord):
			keep = size - r.Truncated()
		default:
			return 0, 0, err
		}
	} else {
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err != nil {
			return 0, 0, err
		}
		if last[0] != '\n' {
			if keep, err = afterLastNewline(f, size); err != nil {
				return 0, 0, err
			}
		}
	}
	if keep == size {
		return size, 0, nil
	}
	if err := f.Truncate(keep); err != nil {
		return 0, 0, err
	}
	return keep, size - keep, nil
}

// afterLastNewline returns the offset after the last "\n" of f's first
// size bytes, or 0 when there is none; it reads backwards in blocks.
func afterLastNewline(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// Write appends the batch to the file with one write call, rotating first
// when the file is due.
func (o *Output) Write(_ context.Context, batch []*metlog.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf := o.buf[:0]
	for _, m := range batch {
		var err error
		if buf, err = o.format.Append(buf, m); err != nil {
			o.log.Warn("message cannot be written in this format; skipped", "format", o.cfg.Format, "uuid", m.UUID, "err", err)
		}
	}
	o.buf = buf
	return o.write(buf)
}

// Format returns the output's format, for the router to encode batches
// for WriteEncoded.
func (o *Output) Format() output.Format { return o.format }

// WriteEncoded writes data, the encoding of messages messages in the
// output's format, as Write writes a batch.
func (o *Output) WriteEncoded(_ context.Context, data []byte, messages int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.write(data)
}

// write writes buf, opening or rotating the file first as due.
func (o *Output) write(buf []byte) error {
	if o.f == nil {
		if err := o.open(); err != nil {
			return err
		}
	}
	if o.due(int64(len(buf))) {
		if err := o.rotate(); err != nil {
			return err
		}
	}
	n, err := o.f.Write(buf)
	o.size += int64(n)
	if err != nil {
		return err
	}
	if o.cfg.Sync {
		return o.f.Sync()
	}
	return nil
}

func (o *Output) due(next int64) bool {
	if o.size == 0 {
		return false
	}
	if o.cfg.RotateBytes > 0 && o.size+next > o.cfg.RotateBytes {
		return true
	}
	return o.cfg.RotateEvery > 0 && o.now().Sub(o.opened) >= o.cfg.RotateEvery.D()
}

// rotate renames the current file to PATH.YYYYmmddTHHMMSS.nnnnnnnnnZ and
// opens a new one, then deletes the oldest rotated files beyond Keep.
func (o *Output) rotate() error {
	if err := o.f.Close(); err != nil {
		o.log.Warn("closing file before rotation", "path", o.cfg.Path, "err", err)
	}
	o.f = nil
	stamp := o.now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(o.cfg.Path, o.cfg.Path+"."+stamp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := o.open(); err != nil {
		return err
	}
	if o.cfg.Keep > 0 {
		o.prune()
	}
	return nil
}

func (o *Output) prune() {
	matches, err := filepath.Glob(o.cfg.Path + ".*")
	if err != nil {
		return
	}
	var rotated []string
	for _, m := range matches {
		if len(strings.TrimPrefix(m, o.cfg.Path+".")) == len("20060102T150405.000000000Z") {
			rotated = append(rotated, m)
		}
	}
	slices.Sort(rotated) // the stamp sorts by time
	for len(rotated) > o.cfg.Keep {
		if err := os.Remove(rotated[0]); err != nil {
			o.log.Warn("removing rotated file", "path", rotated[0], "err", err)
		}
		rotated = rotated[1:]
	}
}

// Reopen closes the file and opens the path again: after logrotate has
// renamed it, the router calls this on SIGHUP.
func (o *Output) Reopen() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f != nil {
		o.f.Close()
		o.f = nil
	}
	return o.open()
}

// Close closes the file.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}
