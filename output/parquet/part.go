package parquet

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	pq "github.com/parquet-go/parquet-go"
)

// rowChunk is how many rows are converted and handed to the Parquet writer
// at a time.
const rowChunk = 256

// File name suffixes in the inflight directory.
const (
	spoolExt = ".spool"
	tmpExt   = ".parquet.tmp"
)

// partFile is the open file of one partition: the Parquet writer and the
// spool that makes what it holds survive a crash.
type partFile struct {
	key    string // partition directory, relative to Dir
	name   string // file name without extension
	dir    string // the inflight directory
	opened time.Time
	used   time.Time // last written

	spool     *os.File
	spoolSize int64 // bytes of whole records in the spool
	tmp       *os.File
	w         *pq.GenericWriter[row]
	rows      int64
	groupBase int64 // w.Size() when the current row group began
}

func (p *partFile) spoolPath() string { return filepath.Join(p.dir, p.name+spoolExt) }
func (p *partFile) tmpPath() string   { return filepath.Join(p.dir, p.name+tmpExt) }

func (o *Output) newPartFile(key string, now time.Time) (*partFile, error) {
	p := &partFile{key: key, name: o.nextName(), dir: filepath.Join(o.cfg.Dir, inflightDir), opened: now, used: now}
	var err error
	if p.spool, err = os.OpenFile(p.spoolPath(), os.O_WRONLY|os.O_CREATE|os.O_EXCL, o.mode); err != nil {
		return nil, err
	}
	if p.tmp, err = os.OpenFile(p.tmpPath(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, o.mode); err != nil {
		p.spool.Close()
		os.Remove(p.spoolPath())
		return nil, err
	}
	p.w = pq.NewGenericWriter[row](p.tmp, o.opts...)
	return p, nil
}

// append writes msgs to the spool, then to the Parquet writer. When it
// returns an error the spool still ends after whole records, all of them
// accepted earlier or now.
func (p *partFile) append(o *Output, msgs []*metlog.Message) error {
	buf := o.buf[:0]
	var skipped []*metlog.Message
	for _, m := range msgs {
		next, err := heka.AppendRecord(buf, m, nil)
		if err != nil {
			// The journal holds Heka records, so this cannot happen for
			// messages the router read from it.
			o.log.Warn("message too large for the spool; skipped", "uuid", m.UUID, "err", err)
			skipped = append(skipped, m)
			continue
		}
		buf = next
	}
	if skipped != nil { // the file holds what the spool holds
		msgs = slices.DeleteFunc(slices.Clone(msgs), func(m *metlog.Message) bool { return slices.Contains(skipped, m) })
	}
	o.buf = buf
	if _, err := p.spool.Write(buf); err != nil {
		if terr := p.spool.Truncate(p.spoolSize); terr != nil {
			return errors.Join(err, terr)
		}
		if _, serr := p.spool.Seek(p.spoolSize, io.SeekStart); serr != nil {
			return errors.Join(err, serr)
		}
		return err
	}
	p.spoolSize += int64(len(buf))
	if o.cfg.Sync {
		if err := p.spool.Sync(); err != nil {
			return err
		}
	}
	return p.writeRows(o, msgs)
}

// writeRows adds msgs as rows, ending the row group once it is large
// enough.
func (p *partFile) writeRows(o *Output, msgs []*metlog.Message) error {
	for len(msgs) > 0 {
		n := min(len(msgs), rowChunk)
		rows := o.rows[:n]
		for i, m := range msgs[:n] {
			o.buf = rows[i].fill(m, o.buf)
		}
		if _, err := p.w.Write(rows); err != nil {
			return err
		}
		p.rows += int64(n)
		msgs = msgs[n:]
		if p.w.Size()-p.groupBase >= o.cfg.RowGroupSize {
			if err := p.w.Flush(); err != nil {
				return err
			}
			p.groupBase = p.w.Size()
		}
	}
	return nil
}

// finish writes the footer, fsyncs the file, renames it into its
// partition and deletes the spool. An empty file is just deleted.
func (p *partFile) finish(o *Output) error {
	if err := p.w.Close(); err != nil {
		return err
	}
	if err := p.tmp.Sync(); err != nil {
		return err
	}
	if err := p.tmp.Close(); err != nil {
		return err
	}
	p.tmp = nil
	if p.rows > 0 {
		if err := o.publish(p.tmpPath(), p.key, p.name); err != nil {
			return err
		}
	} else if err := os.Remove(p.tmpPath()); err != nil {
		return err
	}
	p.spool.Close()
	p.spool = nil
	return os.Remove(p.spoolPath())
}

// discard closes p's files without finishing them: the temporary Parquet
// file is deleted, the spool kept.
func (p *partFile) discard() {
	if p.tmp != nil {
		p.tmp.Close()
		os.Remove(p.tmpPath())
		p.tmp = nil
	}
	if p.spool != nil {
		p.spool.Close()
		p.spool = nil
	}
}

// publish renames the finished temporary file into its partition and
// makes the rename durable.
func (o *Output) publish(tmp, key, name string) error {
	dir := filepath.Join(o.cfg.Dir, filepath.FromSlash(key))
	if err := os.MkdirAll(dir, o.dirMode); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name+".parquet")); err != nil {
		return err
	}
	// The file's directory entry, and those of directories just made.
	for d := dir; len(d) >= len(o.cfg.Dir); d = filepath.Dir(d) {
		if err := syncDir(d); err != nil {
			return err
		}
		if d == filepath.Clean(o.cfg.Dir) {
			break
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// recover turns every spool a previous run left in the inflight directory
// into its Parquet file, and deletes stray temporary files.
func (o *Output) recover() error {
	dir := filepath.Join(o.cfg.Dir, inflightDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), spoolExt) {
			if err := o.rebuild(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, fmt.Errorf("recovering %s: %w", e.Name(), err))
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	entries, _ = os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), tmpExt) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// rebuild writes the Parquet file of a spool, under the name the file was
// to have, and deletes the spool. A spool whose file was already renamed
// into place (a crash between the rename and the delete) is only deleted.
// A record cut short by a crash is not part of any accepted batch and is
// dropped.
func (o *Output) rebuild(spoolPath string) error {
	name := strings.TrimSuffix(filepath.Base(spoolPath), spoolExt)
	tmpPath := filepath.Join(filepath.Dir(spoolPath), name+tmpExt)
	f, err := os.Open(spoolPath)
	if err != nil {
		return err
	}
	defer f.Close()
	r := heka.NewReaderSize(f, 0, 1<<20)
	var (
		key  string
		tmp  *os.File
		w    *pq.GenericWriter[row]
		rows int64
		msg  metlog.Message
	)
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmpPath)
		}
	}()
	var groupBase int64
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, heka.ErrTruncatedRecord) {
			break
		}
		if err != nil {
			return err
		}
		if err := heka.Unmarshal(rec.Message, &msg); err != nil {
			o.log.Warn("undecodable record in spool; skipped", "spool", spoolPath, "err", err)
			continue
		}
		if w == nil {
			key = partitionOf(&msg)
			final := filepath.Join(o.cfg.Dir, filepath.FromSlash(key), name+".parquet")
			if _, err := os.Stat(final); err == nil {
				return os.Remove(spoolPath) // renamed before the crash
			}
			if tmp, err = os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, o.mode); err != nil {
				return err
			}
			w = pq.NewGenericWriter[row](tmp, o.opts...)
		}
		o.buf = o.rows[0].fill(&msg, o.buf)
		if _, err := w.Write(o.rows[:1]); err != nil {
			return err
		}
		rows++
		if w.Size()-groupBase >= o.cfg.RowGroupSize {
			if err := w.Flush(); err != nil {
				return err
			}
			groupBase = w.Size()
		}
	}
	if w != nil {
		if err := w.Close(); err != nil {
			return err
		}
		if err := tmp.Sync(); err != nil {
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		tmp = nil
		if err := o.publish(tmpPath, key, name); err != nil {
			return err
		}
		o.log.Info("recovered parquet file from its spool", "partition", key, "file", name, "rows", rows)
	}
	return os.Remove(spoolPath)
}
