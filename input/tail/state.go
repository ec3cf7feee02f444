package tail

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// savedFile is one file's entry in the state file.
type savedFile struct {
	Path string `json:"path"`
	Dev  uint64 `json:"dev"`
	Ino  uint64 `json:"ino"`
	// HeadLen and HeadHash fingerprint the file: the FNV-1a hash of its
	// first HeadLen bytes.
	HeadLen  int    `json:"head_len"`
	HeadHash uint64 `json:"head_hash"`
	// Offset is where reading resumes: everything before it is in the
	// journal.
	Offset int64 `json:"offset"`
}

type savedState struct {
	Version int         `json:"version"`
	Files   []savedFile `json:"files"`
}

// stateFile is the durable record of the read offsets.
type stateFile struct {
	path string
	// existed says the file was there at start: not a first start.
	existed bool
	saved   []savedFile
}

// openState names the state file of the input following patterns in dir,
// creating dir. The file is named after the patterns, so inputs following
// different files may share a directory.
func openState(dir string, patterns []string) (*stateFile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte(strings.Join(patterns, "\x00")))
	return &stateFile{path: filepath.Join(dir, fmt.Sprintf("tail-%016x.json", h.Sum64()))}, nil
}

// load reads the state file. It is read when Run starts, not in New, so
// that an input replacing another (a reload) starts from what the other
// saved when it stopped.
func (st *stateFile) load() error {
	st.existed, st.saved = false, nil
	data, err := os.ReadFile(st.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tail state: %w", err)
	}
	var s savedState
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("tail state %s: %w (remove it to read the files from start_at)", st.path, err)
	}
	st.existed, st.saved = true, s.Files
	return nil
}

// save replaces the state file atomically and durably: a temporary file
// is written and synced, renamed over the old one, and the directory
// synced.
func (st *stateFile) save(files []savedFile) error {
	data, err := json.MarshalIndent(savedState{Version: 1, Files: files}, "", "\t")
	if err != nil {
		return err
	}
	tmp := st.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, st.path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(st.path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// byID returns the saved entry of the file with id, if any.
func (st *stateFile) byID(id fileID) *savedFile {
	for i := range st.saved {
		if st.saved[i].Dev == id.dev && st.saved[i].Ino == id.ino {
			return &st.saved[i]
		}
	}
	return nil
}

// byHead returns a saved entry with a full fingerprint equal to the given
// one, if any.
func (st *stateFile) byHead(n int, sum uint64) *savedFile {
	for i := range st.saved {
		if st.saved[i].HeadLen == n && st.saved[i].HeadHash == sum {
			return &st.saved[i]
		}
	}
	return nil
}
