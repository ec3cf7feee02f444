package journal

import (
	"io"
	"os"
	"sort"
	"sync"
	"time"
)

// memStorage keeps a journal's files in memory. Unless trackSync is set it
// reports itself non-durable, and the journal never calls Sync. With
// trackSync, Sync and syncDir record what would have survived a power loss
// (tests use it to simulate crashes).
type memStorage struct {
	trackSync bool

	mu    sync.Mutex
	files map[string]*memFile
	// dir is the directory as of the last syncDir: what a power loss
	// would leave (only kept with trackSync).
	dir map[string]*memFile
}

func newMemStorage(trackSync bool) *memStorage {
	return &memStorage{
		trackSync: trackSync,
		files:     make(map[string]*memFile),
		dir:       make(map[string]*memFile),
	}
}

// memFile is one file in memory. Its contents only grow, except through
// Truncate.
type memFile struct {
	mu     sync.RWMutex
	data   []byte
	synced int // with trackSync: the prefix of data made durable by Sync
	mod    time.Time
}

func (m *memStorage) list() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.files))
	for name := range m.files {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

func (m *memStorage) create(name string, sizeHint int64) (file, error) {
	f := &memFile{data: make([]byte, 0, min(sizeHint, 64<<20)), mod: time.Now()}
	m.mu.Lock()
	m.files[name] = f
	m.mu.Unlock()
	return f, nil
}

func (m *memStorage) open(name string) (file, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.files[name]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return f, nil
}

func (m *memStorage) remove(name string) error {
	m.mu.Lock()
	delete(m.files, name)
	m.mu.Unlock()
	return nil
}

func (m *memStorage) rename(from, to string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.files[from]
	if !ok {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: os.ErrNotExist}
	}
	delete(m.files, from)
	m.files[to] = f
	return nil
}

func (m *memStorage) syncDir() error {
	if !m.trackSync {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.dir)
	for name, f := range m.files {
		m.dir[name] = f
	}
	return nil
}

func (m *memStorage) durable() bool { return m.trackSync }

func (m *memStorage) release() error { return nil }

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	f.data = append(f.data, p...)
	f.mod = time.Now()
	f.mu.Unlock()
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.mu.Lock()
	f.synced = len(f.data)
	f.mu.Unlock()
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if size < int64(len(f.data)) {
		f.data = f.data[:size]
		f.synced = min(f.synced, int(size))
	}
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return int64(len(f.data)), nil
}

func (f *memFile) ModTime() (time.Time, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.mod, nil
}

func (f *memFile) Close() error { return nil }
