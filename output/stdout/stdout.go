// Package stdout is the output that prints messages on the router's
// standard output, for debugging and for running under a supervisor that
// collects it.
package stdout

import (
	"context"
	_ "embed"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [output.NAME] table of a stdout output.
type Config struct {
	// Format is "text", "metlog-json" or "heka".
	Format string `toml:"format"`
	// Template is the text format's line template; see output.Text.
	Template string `toml:"template"`
}

// Defaults returns a Config with every default set.
func Defaults() Config { return Config{Format: "text"} }

// Validate reports every problem with c.
func (c *Config) Validate() error {
	_, err := output.NewFormat(c.Format, c.Template)
	return err
}

// Output writes each batch to standard output with one write.
type Output struct {
	format output.Format
	log    *slog.Logger
	w      io.Writer
	mu     sync.Mutex
	buf    []byte
}

// New returns an output writing to os.Stdout.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	return NewWriter(cfg, log, os.Stdout)
}

// NewWriter returns an output writing to w.
func NewWriter(cfg Config, log *slog.Logger, w io.Writer) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f, _ := output.NewFormat(cfg.Format, cfg.Template)
	return &Output{format: f, log: log, w: w}, nil
}

// Write prints the batch.
func (o *Output) Write(_ context.Context, batch []*metlog.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf := o.buf[:0]
	for _, m := range batch {
		var err error
		if buf, err = o.format.Append(buf, m); err != nil {
			o.log.Warn("message cannot be written in this format; skipped", "uuid", m.UUID, "err", err)
		}
	}
	o.buf = buf
	_, err := o.w.Write(buf)
	return err
}

// Format returns the output's format, for the router to encode batches
// for WriteEncoded.
func (o *Output) Format() output.Format { return o.format }

// WriteEncoded writes data, the encoding of messages messages in the
// output's format, as Write writes a batch.
func (o *Output) WriteEncoded(_ context.Context, data []byte, messages int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, err := o.w.Write(data)
	return err
}
