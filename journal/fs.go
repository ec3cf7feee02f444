package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// storage is where a journal keeps its files: a directory on disk, or memory.
// Everything above it — recovery, cursors, retention — is the same code for
// both, which is what makes the in-memory mode behave like the disk mode.
type storage interface {
	// list returns the names of the files in the directory.
	list() ([]string, error)
	// create creates name, truncating it if it exists. sizeHint is how
	// large the file is expected to grow.
	create(name string, sizeHint int64) (file, error)
	// open opens an existing file for reading and appending.
	open(name string) (file, error)
	remove(name string) error
	rename(from, to string) error
	// syncDir makes creations, removals and renames durable.
	syncDir() error
	// durable reports whether sync calls reach stable storage; it is false
	// in memory, where syncing is skipped.
	durable() bool
	// release gives up the directory (its lock).
	release() error
}

// file is one journal file. Writes always append. ReadAt may run
// concurrently with Write and with other ReadAt calls.
type file interface {
	io.ReaderAt
	io.Writer
	Sync() error
	Truncate(size int64) error
	Size() (int64, error)
	ModTime() (time.Time, error)
	Close() error
}

// diskStorage is a directory, held under an exclusive lock.
type diskStorage struct {
	dir  string
	lock *os.File
}

func openDisk(dir string) (*diskStorage, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := lockFile(lf); err != nil {
		lf.Close()
		return nil, fmt.Errorf("journal: directory %s is in use by another process: %w", dir, err)
	}
	return &diskStorage{dir: dir, lock: lf}, nil
}

func (d *diskStorage) list() ([]string, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (d *diskStorage) create(name string, _ int64) (file, error) {
	f, err := os.OpenFile(filepath.Join(d.dir, name), os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	return diskFile{f}, nil
}

func (d *diskStorage) open(name string) (file, error) {
	f, err := os.OpenFile(filepath.Join(d.dir, name), os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, err
	}
	return diskFile{f}, nil
}

func (d *diskStorage) remove(name string) error {
	err := os.Remove(filepath.Join(d.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (d *diskStorage) rename(from, to string) error {
	return os.Rename(filepath.Join(d.dir, from), filepath.Join(d.dir, to))
}

func (d *diskStorage) syncDir() error {
	f, err := os.Open(d.dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (d *diskStorage) durable() bool { return true }

func (d *diskStorage) release() error {
	err := unlockFile(d.lock)
	if cerr := d.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// diskFile adapts *os.File to file.
type diskFile struct{ *os.File }

func (f diskFile) Size() (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (f diskFile) ModTime() (time.Time, error) {
	fi, err := f.Stat()
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

func (f diskFile) Truncate(size int64) error {
	if err := f.File.Truncate(size); err != nil {
		return err
	}
	_, err := f.Seek(size, io.SeekStart)
	return err
}
