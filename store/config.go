package store

import (
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output/clickhouse"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [output.NAME] table of a store output.
type Config struct {
	// Path is the directory of the store's files; it is created when
	// missing.
	Path string `toml:"path"`
	// Partition is the span of message time each database file holds. It
	// must be a whole number of minutes.
	Partition config.Duration `toml:"partition"`
	// MaxAge drops partitions whose newest possible message is older than
	// this, and messages older than this are not stored. 0 keeps
	// everything.
	MaxAge config.Duration `toml:"max_age"`
	// MaxBytes drops the oldest partitions while the files of the store
	// take more than this many bytes. The partition being written is never
	// dropped. 0 disables the limit.
	MaxBytes int64 `toml:"max_bytes"`
	// FullText indexes payloads and string field values so that messages
	// can be searched by word.
	FullText bool `toml:"full_text"`
	// Backend is where messages are kept and queried: "embedded" (the
	// files under Path, and every option above) or "clickhouse" (the
	// ClickHouse table of the ClickHouse option, which the store output
	// fills as a clickhouse output does and the web UI and API query).
	Backend string `toml:"backend"`
	// ClickHouse is the table of the "clickhouse" backend, with the
	// options of a clickhouse output.
	ClickHouse clickhouse.Config `toml:"clickhouse"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Path:       "./metlog-data/store",
		Partition:  config.Duration(6 * time.Hour),
		MaxAge:     config.Duration(7 * 24 * time.Hour),
		MaxBytes:   10 << 30,
		FullText:   true,
		Backend:    "embedded",
		ClickHouse: clickhouse.Defaults(),
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path must be set"))
	}
	if p := c.Partition.D(); p < time.Minute || p%time.Minute != 0 {
		errs = append(errs, errors.New("partition must be a whole number of minutes, at least \"1m\""))
	}
	if c.MaxAge < 0 {
		errs = append(errs, errors.New("max_age must not be negative"))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, errors.New("max_bytes must not be negative"))
	}
	switch c.Backend {
	case "embedded":
	case "clickhouse":
		if err := c.ClickHouse.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("clickhouse: %w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("backend %q: want \"embedded\" or \"clickhouse\"", c.Backend))
	}
	return errors.Join(errs...)
}
