package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// schema is the layout of one partition file; see the package
// documentation.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
	id       INTEGER PRIMARY KEY,
	ts       INTEGER NOT NULL,
	uuid     BLOB NOT NULL,
	type     TEXT NOT NULL,
	logger   TEXT NOT NULL,
	severity INTEGER NOT NULL,
	pid      INTEGER NOT NULL,
	hostname TEXT NOT NULL,
	name     TEXT,
	msg      BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS rollups (
	kind    INTEGER NOT NULL,
	name    TEXT NOT NULL,
	minute  INTEGER NOT NULL,
	count   INTEGER NOT NULL,
	sum     REAL NOT NULL,
	last    REAL,
	last_ts INTEGER,
	sketch  BLOB,
	PRIMARY KEY (kind, name, minute)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS exceptions (
	fingerprint TEXT PRIMARY KEY,
	source      TEXT NOT NULL,
	logger      TEXT NOT NULL,
	error_type  TEXT NOT NULL,
	title       TEXT NOT NULL,
	culprit     TEXT NOT NULL,
	first_ts    INTEGER NOT NULL,
	last_ts     INTEGER NOT NULL,
	count       INTEGER NOT NULL,
	sample_id   INTEGER NOT NULL
) WITHOUT ROWID;
`

// indexes are the messages table's indexes, made once the file's version
// is known. Both grow at their end as messages come in time order: (ts,
// uuid) is the dedupe key and serves time ranges.
const indexes = `
CREATE UNIQUE INDEX IF NOT EXISTS messages_ts_uuid ON messages (ts, uuid);
CREATE INDEX IF NOT EXISTS messages_type_ts ON messages (type, ts);
`

// schemaVersion is stored in meta; a file of another version is refused,
// but for older versions, which are brought up to date: version 1 had its
// full-text index in the partition file (dropped, and rebuilt in the index
// file); versions 1 and 2 had a unique index of UUIDs and one of times,
// replaced by the index of both.
const schemaVersion = 3

// pageSize is the page size of new files: larger pages than SQLite's 4096
// bytes mean fewer writes to its log per committed batch.
const pageSize = 16384

// partition is one database file: the messages whose timestamps fall in
// [start, end), their full-text index, and the rollups and exception
// groups of those messages.
type partition struct {
	start, end int64 // ns since the epoch
	// created is when the file was made (ns); its index file records it,
	// so that an index left from another file of the same name is not
	// taken for this one's.
	created int64
	path    string
	db      *sql.DB
	stmts   *stmtCache // the writer's statements

	// mu is held for reading while the file is queried or written, and for
	// writing while it is closed and removed.
	mu     sync.RWMutex
	closed bool

	ckpt     *checkpointer
	ckptStop sync.Once
	unckpt   int // bytes written since the last checkpoint, under Store.wmu
	// nextID is the id of the next message inserted, under Store.wmu; 0
	// until the first insert reads it.
	nextID int64
	// ix keeps the full-text index; nil when full text is off.
	ix *indexer
}

// fileSuffixes are what is appended to a partition's path to name its
// files: SQLite's log and shared memory, and the full-text index's.
var fileSuffixes = []string{"", "-wal", "-shm", "-fts", "-fts-wal", "-fts-shm"}

// partitionName is the file name of the partition starting at start.
func partitionName(start int64) string {
	return "messages-" + time.Unix(0, start).UTC().Format("20060102T150405Z") + ".db"
}

// openPartition opens (creating when create is set) a partition file and,
// with fullText, its full-text index. For an existing file the range
// stored in it wins over start and end.
func openPartition(ctx context.Context, path string, start, end int64, create, fullText bool, log *slog.Logger) (*partition, error) {
	if !create {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
	}
	// The page size applies to a new file only, and before it is put in
	// WAL mode (in init).
	dsn := "file:" + path + "?_pragma=page_size(" + strconv.Itoa(pageSize) + ")&_pragma=busy_timeout(10000)" +
		"&_pragma=synchronous(NORMAL)&_pragma=cache_size(-8000)&_pragma=temp_store(MEMORY)" +
		"&_pragma=wal_autocheckpoint(" + strconv.Itoa(walAutoCheckpoint) + ")&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	p := &partition{path: path, db: db, stmts: newStmtCache(db)}
	if err := p.init(ctx, start, end); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", filepath.Base(path), err)
	}
	if fullText {
		var last int64
		err := db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM messages`).Scan(&last)
		if err == nil {
			p.ix, err = openIndexer(ctx, p, last, log)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("store: open %s: %w", filepath.Base(path), err)
		}
	}
	p.startCheckpointer()
	return p, nil
}

func (p *partition) init(ctx context.Context, start, end int64) error {
	if _, err := p.db.ExecContext(ctx, "PRAGMA journal_mode=WAL;"+schema); err != nil {
		return err
	}
	rows, err := p.db.QueryContext(ctx, `SELECT key, value FROM meta`)
	if err != nil {
		return err
	}
	meta := map[string]int64{}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return err
		}
		meta[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(meta) == 0 {
		p.start, p.end, p.created = start, end, time.Now().UnixNano()
		_, err := p.db.ExecContext(ctx, indexes+`INSERT INTO meta (key, value) VALUES ('version', ?), ('start', ?), ('end', ?), ('created', ?)`,
			schemaVersion, start, end, p.created)
		return err
	}
	if meta["version"] == 1 {
		meta["created"] = time.Now().UnixNano()
		_, err := p.db.ExecContext(ctx, `DROP TABLE IF EXISTS messages_fts;
			UPDATE meta SET value = 2 WHERE key = 'version';
			INSERT OR REPLACE INTO meta (key, value) VALUES ('created', ?)`, meta["created"])
		if err != nil {
			return fmt.Errorf("moving the full-text index out: %w", err)
		}
		meta["version"] = 2
	}
	if meta["version"] == 2 {
		if err := p.indexesOfVersion2(ctx); err != nil {
			return fmt.Errorf("replacing the indexes of version 2: %w", err)
		}
		meta["version"] = schemaVersion
	}
	if meta["version"] != schemaVersion {
		return fmt.Errorf("schema version %d, want %d (move the file away to start afresh)", meta["version"], schemaVersion)
	}
	p.start, p.end, p.created = meta["start"], meta["end"], meta["created"]
	if p.end <= p.start {
		return errors.New("corrupt meta table: end before start")
	}
	return nil
}

// indexesOfVersion2 replaces a version 2 file's indexes, in one
// transaction: a crash leaves the file as it was.
func (p *partition) indexesOfVersion2(ctx context.Context) error {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `DROP INDEX IF EXISTS messages_uuid; DROP INDEX IF EXISTS messages_ts;`+indexes+
		`UPDATE meta SET value = ? WHERE key = 'version'`, schemaVersion)
	if err != nil {
		return err
	}
	return tx.Commit()
}

// size is the bytes the partition's files take.
func (p *partition) size() int64 {
	var n int64
	for _, suffix := range fileSuffixes {
		if fi, err := os.Stat(p.path + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// acquire locks p for use; it reports false when p was dropped.
func (p *partition) acquire() bool {
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return false
	}
	return true
}

func (p *partition) release() { p.mu.RUnlock() }

// close waits for the queries using p, then closes it.
func (p *partition) close() error {
	p.stopCheckpointer()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	var err error
	if p.ix != nil {
		err = p.ix.close()
	}
	p.stmts.close()
	return errors.Join(err, p.db.Close())
}

// remove closes p and deletes its files.
func (p *partition) remove() error {
	err := p.close()
	for _, suffix := range fileSuffixes {
		if e := os.Remove(p.path + suffix); e != nil && !errors.Is(e, os.ErrNotExist) {
			err = errors.Join(err, e)
		}
	}
	return err
}

// isPartitionFile reports whether name is a partition file name.
func isPartitionFile(name string) bool {
	return strings.HasPrefix(name, "messages-") && strings.HasSuffix(name, ".db")
}
