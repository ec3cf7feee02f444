// Package parquet is the output that writes messages to Parquet files in
// Hive-style partitions, for warehouses and query engines (DuckDB, Spark,
// Trino, ClickHouse) to read in place:
//
//	DIR/type=T/date=YYYY-MM-DD/hour=HH/part-STAMP-SEQ.parquet
//
// Each partition has at most one file open at a time. An open file lives in
// DIR/.inflight/ as two files: the Parquet file being written
// (part-….parquet.tmp) and a spool (part-….spool), a Heka stream of the
// same messages. Write appends each batch to the spools (fsynced when Sync
// is set) before it returns, so everything the router's cursor has moved
// past is on disk. A file is closed when it reaches MaxFileSize or
// MaxFileAge, when more than MaxOpenFiles partitions are open (the least
// recently written one), and on Close: its footer is written, it is fsynced
// and renamed into its partition, and then its spool is deleted. Readers
// never see a partial file.
//
//	Write ──▶ spool append (+fsync) ──▶ rows into the open writer ──▶ return nil
//	close  ──▶ footer ─▶ fsync ─▶ rename into type=…/date=…/hour=… ─▶ delete spool
//	New    ──▶ every spool left in .inflight becomes its Parquet file
//
// After a crash, New rebuilds each file left open from its spool, under
// the name it was going to have, so nothing that Write accepted is lost
// and nothing is written twice by the output; the router may deliver its
// last batches again, with the same UUIDs (deduplicate by uuid).
package parquet

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// inflightDir is the directory, under Dir, of the files being written. Its
// leading dot hides it from Hive-style readers and from globs such as
// DIR/**/*.parquet.
const inflightDir = ".inflight"

// Config is the [output.NAME] table of a parquet output.
type Config struct {
	// Dir is the root of the partition tree. It is created when missing.
	// One output writes to a directory.
	Dir string `toml:"dir"`
	// Compression is the codec of every column: "zstd", "snappy", "gzip"
	// or "none".
	Compression string `toml:"compression"`
	// MaxFileSize closes a file once it has grown to this many bytes.
	MaxFileSize int64 `toml:"max_file_size"`
	// MaxFileAge closes a file this long after it was opened, written to
	// or not.
	MaxFileAge config.Duration `toml:"max_file_age"`
	// RowGroupSize ends a row group once its buffered rows take this many
	// bytes. Each open file holds about this much memory, plus a few MiB
	// of writer buffers.
	RowGroupSize int64 `toml:"row_group_size"`
	// MaxOpenFiles bounds the partitions open at once; opening one more
	// closes the least recently written.
	MaxOpenFiles int `toml:"max_open_files"`
	// Sync fsyncs the spools after every batch, so that what Write
	// accepted survives a power loss, not only a crash of the router.
	// Closed files are always fsynced before they are renamed.
	Sync bool `toml:"sync"`
	// Mode is the permission of new files, in octal ("0640").
	Mode string `toml:"mode"`
	// DirMode is the permission of directories it creates ("0750").
	DirMode string `toml:"dir_mode"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Compression:  "zstd",
		MaxFileSize:  128 << 20,
		MaxFileAge:   config.Duration(5 * time.Minute),
		RowGroupSize: 4 << 20,
		MaxOpenFiles: 16,
		Sync:         true,
		Mode:         "0640",
		DirMode:      "0750",
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("dir must be set"))
	}
	if _, err := codec(c.Compression); err != nil {
		errs = append(errs, err)
	}
	if c.MaxFileSize <= 0 {
		errs = append(errs, errors.New("max_file_size must be positive"))
	}
	if c.MaxFileAge <= 0 {
		errs = append(errs, errors.New("max_file_age must be positive"))
	}
	if c.RowGroupSize <= 0 {
		errs = append(errs, errors.New("row_group_size must be positive"))
	}
	if c.MaxOpenFiles < 1 {
		errs = append(errs, errors.New("max_open_files must be at least 1"))
	}
	if _, err := parseMode(c.Mode); err != nil {
		errs = append(errs, fmt.Errorf("mode %w", err))
	}
	if _, err := parseMode(c.DirMode); err != nil {
		errs = append(errs, fmt.Errorf("dir_mode %w", err))
	}
	return errors.Join(errs...)
}

func codec(name string) (compress.Codec, error) {
	switch name {
	case "zstd":
		return &zstd.Codec{}, nil
	case "snappy":
		return &snappy.Codec{}, nil
	case "gzip":
		return &gzip.Codec{}, nil
	case "none":
		return &uncompressed.Codec{}, nil
	}
	return nil, fmt.Errorf("compression %q: want \"zstd\", \"snappy\", \"gzip\" or \"none\"", name)
}

func parseMode(s string) (os.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("%q: want an octal permission such as \"0640\"", s)
	}
	return os.FileMode(v), nil
}

// Output writes batches into partitioned Parquet files. It is safe for
// concurrent use, though the router calls Write from one goroutine.
type Output struct {
	cfg     Config
	log     *slog.Logger
	opts    []pq.WriterOption
	mode    os.FileMode
	dirMode os.FileMode
	now     func() time.Time

	mu     sync.Mutex
	open   map[string]*partFile  // by partition
	seq    uint64                // files named by this Output
	stamp  string                // the start time, in every file name
	rows   []row                 // scratch, reused; rowChunk long
	keys   map[hourOfType]string // partitionOf, cached
	buf    []byte                // scratch, reused
	closed bool

	stop chan struct{} // closes the age ticker
	done chan struct{} // closed when it has returned
}

// New recovers the files a previous run left open, then starts the
// goroutine that closes files by age; Close stops it.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, _ := codec(cfg.Compression)
	mode, _ := parseMode(cfg.Mode)
	dirMode, _ := parseMode(cfg.DirMode)
	o := &Output{
		cfg: cfg, log: log, mode: mode, dirMode: dirMode, now: time.Now,
		opts: []pq.WriterOption{
			pq.Compression(c),
			pq.PageBufferSize(256 << 10),
		},
		open: make(map[string]*partFile),
		rows: make([]row, rowChunk),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	o.stamp = o.now().UTC().Format("20060102T150405.000000000Z")
	if err := os.MkdirAll(filepath.Join(cfg.Dir, inflightDir), dirMode); err != nil {
		return nil, err
	}
	if err := o.recover(); err != nil {
		return nil, err
	}
	go o.tick(tickEvery(cfg.MaxFileAge.D()))
	return o, nil
}

// tickEvery is how often files are checked for age: often enough that a
// file closes within a few percent of MaxFileAge, at most once a second.
func tickEvery(age time.Duration) time.Duration {
	return max(min(age/20, time.Second), time.Millisecond)
}

func (o *Output) tick(every time.Duration) {
	defer close(o.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
			o.mu.Lock()
			o.closeDue(o.now())
			o.mu.Unlock()
		}
	}
}

// Write adds the batch to the open file of each message's partition,
// opening files as needed, and returns once the batch is in their spools.
// It closes the files that are due.
func (o *Output) Write(_ context.Context, batch []*metlog.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return errors.New("parquet output is closed")
	}
	now := o.now()
	// Group the batch by partition, keeping order within each.
	groups := make(map[string][]*metlog.Message)
	var order []string
	for _, m := range batch {
		key := o.partition(m)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], m)
	}
	var errs []error
	for _, key := range order {
		if err := o.writePartition(key, groups[key], now); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	o.closeDue(now)
	return errors.Join(errs...)
}

func (o *Output) writePartition(key string, msgs []*metlog.Message, now time.Time) error {
	p := o.open[key]
	if p == nil {
		if len(o.open) >= o.cfg.MaxOpenFiles {
			o.closeLRU()
		}
		var err error
		if p, err = o.newPartFile(key, now); err != nil {
			return err
		}
		o.open[key] = p
	}
	p.used = now
	if err := p.append(o, msgs); err != nil {
		// The spool holds every accepted message: finish the file from it
		// and let the router retry the batch into a new one.
		delete(o.open, key)
		o.abandon(p)
		return err
	}
	if p.w.Size() >= o.cfg.MaxFileSize {
		o.finish(key, p)
	}
	return nil
}

// closeDue closes files older than MaxFileAge.
func (o *Output) closeDue(now time.Time) {
	for key, p := range o.open {
		if now.Sub(p.opened) >= o.cfg.MaxFileAge.D() {
			o.finish(key, p)
		}
	}
}

// closeLRU closes the least recently written file.
func (o *Output) closeLRU() {
	var lru string
	var oldest time.Time
	for key, p := range o.open {
		if lru == "" || p.used.Before(oldest) {
			lru, oldest = key, p.used
		}
	}
	if lru != "" {
		o.finish(lru, o.open[lru])
	}
}

// finish closes p and removes it from the open set. On error the file is
// rebuilt from its spool; if that fails too, the spool stays for the next
// New.
func (o *Output) finish(key string, p *partFile) {
	delete(o.open, key)
	err := p.finish(o)
	if err == nil {
		o.log.Debug("parquet file closed", "partition", key, "file", p.name, "rows", p.rows)
		return
	}
	o.log.Error("closing parquet file; rebuilding it from its spool",
		"partition", key, "file", p.name, "err", err)
	o.abandon(p)
}

// abandon drops p's writer and rebuilds its file from the spool.
func (o *Output) abandon(p *partFile) {
	p.discard()
	if err := o.rebuild(p.spoolPath()); err != nil {
		o.log.Error("rebuilding parquet file from its spool; kept for the next start",
			"file", p.name, "err", err)
	}
}

// Close closes every open file and stops the age ticker.
func (o *Output) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	for key, p := range o.open {
		o.finish(key, p)
	}
	o.mu.Unlock()
	close(o.stop)
	<-o.done
	return nil
}

// hourOfType identifies a partition: a type and an hour since the epoch.
type hourOfType struct {
	typ  string
	hour int64
}

// partition is partitionOf(m), remembered for the types and hours seen
// lately.
func (o *Output) partition(m *metlog.Message) string {
	h := hourOfType{m.Type, m.Timestamp / int64(time.Hour)}
	if m.Timestamp < 0 && m.Timestamp%int64(time.Hour) != 0 {
		h.hour-- // floor
	}
	if key, ok := o.keys[h]; ok {
		return key
	}
	if len(o.keys) >= 1024 {
		clear(o.keys)
	}
	if o.keys == nil {
		o.keys = make(map[hourOfType]string)
	}
	key := partitionOf(m)
	o.keys[h] = key
	return key
}

// nextName returns a new file name, unique across restarts: the start time
// of this Output and a sequence number.
func (o *Output) nextName() string {
	o.seq++
	return fmt.Sprintf("part-%s-%06d", o.stamp, o.seq)
}
