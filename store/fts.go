package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The full-text index of a partition lives in a file of its own beside the
// partition's (its name plus "-fts"), written by a goroutine of its own:
// SQLite lets one writer at a time into a file, and the index costs about
// as much to write as the messages, so on two cores the two writes run
// side by side instead of one after the other.
//
// The writer hands the indexer the text of each committed transaction's
// messages (a batch, with the range of ids the transaction used). The
// indexer records in the index file, in the transaction that indexes them,
// the id through which every message is indexed (its high-water mark).
// Whatever it did not receive — batches dropped because it was behind,
// messages committed before a crash, a partition written with full text
// off or by an older version that kept the index in the partition file —
// it reads back from the partition and indexes, from its mark on. So the
// index never blocks a write, and it always ends up complete.
//
// A word search waits for the indexer to reach the messages committed when
// the search began (for at most indexWait), so that what was written is
// found.

// ftsSchema is the layout of an index file.
const ftsSchema = `
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5 (text, content='', detail='none', columnsize=0);
CREATE TABLE IF NOT EXISTS fts_meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
`

// ftsSettings tunes a new index for ingest. Each committed batch adds a
// segment to the index; FTS5 merges segments when automerge of them share
// a level (4 by default). Merging later, in larger steps, rewrites each
// entry fewer times, for a few more segments to read per search.
const ftsSettings = `INSERT INTO messages_fts (messages_fts, rank) VALUES ('automerge', 16)`

// indexQueue is how many batches wait for the indexer before the writer
// drops them (to be read back from the partition). Tests lower it.
var indexQueue = 16

const (
	// catchUpRows is how many messages read back from the partition one
	// index transaction takes.
	catchUpRows = 8192
	// indexWait bounds how long a word search waits for the index.
	indexWait = 5 * time.Second
	// indexRetry is the pause after the index failed to write.
	indexRetry = time.Second
)

// ftsRow is one message's text for the index.
type ftsRow struct {
	id   int64
	text string
}

// ftsBatch is the text of one committed transaction's new messages; the
// transaction used the ids from through to.
type ftsBatch struct {
	from, to int64
	rows     []ftsRow
}

// indexer keeps a partition's full-text index.
type indexer struct {
	p     *partition
	db    *sql.DB // the index file
	stmts *stmtCache
	log   *slog.Logger
	in    chan ftsBatch
	kick  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	// committed is the highest id the writer committed into the
	// partition; indexed the id through which the index holds every
	// message.
	committed, indexed atomic.Int64

	mu       sync.Mutex
	progress chan struct{} // closed when indexed moves
	text     strings.Builder
}

// ftsPath is the name of p's index file.
func ftsPath(partitionPath string) string { return partitionPath + "-fts" }

// openIndexer opens (creating it if need be) the index file of p, whose
// messages go up to id last, and starts its indexer.
func openIndexer(ctx context.Context, p *partition, last int64, log *slog.Logger) (*indexer, error) {
	db, err := sql.Open("sqlite", "file:"+ftsPath(p.path)+"?_pragma=page_size("+strconv.Itoa(pageSize)+")&_pragma=busy_timeout(10000)"+
		"&_pragma=synchronous(NORMAL)&_pragma=cache_size(-8000)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	hwm, err := initIndex(ctx, db, p.created, last)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("full-text index: %w", err)
	}
	ix := &indexer{
		p: p, db: db, log: log, stmts: newStmtCache(db),
		in:       make(chan ftsBatch, indexQueue),
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		progress: make(chan struct{}),
	}
	ix.committed.Store(last)
	ix.indexed.Store(hwm)
	go ix.run(hwm)
	return ix, nil
}

// initIndex creates the index's tables when missing and returns its
// high-water mark. An index made for another file of the same name, or
// ahead of the partition's last id (the partition lost commits that the
// index kept, in a power loss), is emptied, to be built again: its
// entries may name ids that now hold other messages.
func initIndex(ctx context.Context, db *sql.DB, created, last int64) (int64, error) {
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=WAL;"+ftsSchema); err != nil {
		return 0, err
	}
	meta := map[string]int64{}
	rows, err := db.QueryContext(ctx, `SELECT key, value FROM fts_meta`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return 0, err
		}
		meta[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	hwm, ok := meta["indexed"]
	switch {
	case !ok:
		if _, err := db.ExecContext(ctx, ftsSettings); err != nil {
			return 0, err
		}
	case meta["created"] == created && hwm <= last:
		return hwm, nil
	default:
		if _, err := db.ExecContext(ctx, `INSERT INTO messages_fts (messages_fts) VALUES ('delete-all')`); err != nil {
			return 0, err
		}
	}
	_, err = db.ExecContext(ctx, `INSERT OR REPLACE INTO fts_meta (key, value) VALUES ('indexed', 0), ('created', ?)`, created)
	return 0, err
}

// add hands the indexer a committed batch; called by the writer only. It
// never blocks: a batch the indexer has no room for is read back from the
// partition later.
func (ix *indexer) add(b ftsBatch) {
	ix.committed.Store(b.to)
	select {
	case ix.in <- b:
	default:
		select {
		case ix.kick <- struct{}{}:
		default:
		}
	}
}

// lag is how many ids the index is behind the partition.
func (ix *indexer) lag() int64 { return max(0, ix.committed.Load()-ix.indexed.Load()) }

// wait waits until the index holds every message committed when it was
// called, for at most d.
func (ix *indexer) wait(ctx context.Context, d time.Duration) {
	target := ix.committed.Load()
	var timeout <-chan time.Time
	for {
		ix.mu.Lock()
		ch := ix.progress
		ix.mu.Unlock()
		if ix.indexed.Load() >= target {
			return
		}
		if timeout == nil {
			t := time.NewTimer(d)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ch:
		case <-timeout:
			return
		case <-ctx.Done():
			return
		case <-ix.done:
			return
		}
	}
}

// close stops the indexer — batches already handed to it are indexed
// first — and closes the index file.
func (ix *indexer) close() error {
	ix.once.Do(func() { close(ix.stop) })
	<-ix.done
	ix.stmts.close()
	return ix.db.Close()
}

func (ix *indexer) stopping() bool {
	select {
	case <-ix.stop:
		return true
	default:
		return false
	}
}

func (ix *indexer) advance(hwm int64) {
	ix.indexed.Store(hwm)
	ix.mu.Lock()
	close(ix.progress)
	ix.progress = make(chan struct{})
	ix.mu.Unlock()
}

func (ix *indexer) run(hwm int64) {
	defer close(ix.done)
	failed := false
	for {
		var batches []ftsBatch
		switch {
		case failed || hwm >= ix.committed.Load():
			var retry <-chan time.Time
			if failed {
				retry = time.After(indexRetry)
			}
			select {
			case <-ix.stop:
				ix.finish(hwm)
				return
			case b := <-ix.in:
				batches = append(batches, b)
			case <-ix.kick:
			case <-retry:
			}
		case ix.stopping():
			ix.finish(hwm)
			return
		}
	drain:
		for len(batches) < indexQueue {
			select {
			case b := <-ix.in:
				batches = append(batches, b)
			default:
				break drain
			}
		}
		next, err := ix.index(hwm, batches, true)
		if next > hwm {
			hwm = next
			ix.advance(hwm)
		}
		if err != nil && !failed {
			ix.log.Error("store: full-text index: will retry", "partition", ix.p.path, "err", err)
		}
		failed = err != nil
	}
}

// finish indexes the batches handed over before the stop; what else is
// missing is read back at the next start.
func (ix *indexer) finish(hwm int64) {
	var batches []ftsBatch
	for {
		select {
		case b := <-ix.in:
			batches = append(batches, b)
			continue
		default:
		}
		break
	}
	if next, _ := ix.index(hwm, batches, false); next > hwm {
		ix.advance(next)
	}
}

// index adds batches to the index, reading back from the partition what
// is missing before them (or, without batches, what the writer committed
// beyond hwm), and returns the new high-water mark.
func (ix *indexer) index(hwm int64, batches []ftsBatch, catchUp bool) (int64, error) {
	var pending []ftsBatch
	var err error
	for _, b := range batches {
		if b.to <= hwm {
			continue // read back already
		}
		if b.from > hwm+1 {
			if hwm, err = ix.write(hwm, pending); err != nil {
				return hwm, err
			}
			pending = nil
			if hwm, err = ix.readBack(hwm, b.from-1); err != nil || hwm < b.from-1 {
				return hwm, err
			}
		}
		pending = append(pending, b)
	}
	if hwm, err = ix.write(hwm, pending); err != nil {
		return hwm, err
	}
	if catchUp {
		if c := ix.committed.Load(); c > hwm {
			return ix.readBack(hwm, c)
		}
	}
	return hwm, nil
}

// write indexes batches, which follow hwm without a gap, in one
// transaction.
func (ix *indexer) write(hwm int64, batches []ftsBatch) (int64, error) {
	if len(batches) == 0 {
		return hwm, nil
	}
	var rows []ftsRow
	for _, b := range batches {
		for _, r := range b.rows {
			if r.id > hwm {
				rows = append(rows, r)
			}
		}
	}
	to := batches[len(batches)-1].to
	if err := ix.commit(rows, to); err != nil {
		return hwm, err
	}
	return to, nil
}

// readBack indexes the partition's messages with ids in (hwm, to], in
// transactions of catchUpRows, and returns how far it got: it stops early
// when the indexer is stopped.
func (ix *indexer) readBack(hwm, to int64) (int64, error) {
	ctx := context.Background()
	for hwm < to && !ix.stopping() {
		rows, err := ix.p.db.QueryContext(ctx, `SELECT id, uuid, msg FROM messages WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`,
			hwm, to, catchUpRows)
		if err != nil {
			return hwm, err
		}
		var batch []ftsRow
		last, n := hwm, 0
		for rows.Next() {
			n++
			var id int64
			var uuid, blob []byte
			if err := rows.Scan(&id, &uuid, &blob); err != nil {
				rows.Close()
				return hwm, err
			}
			last = id
			m, err := decodeRow(uuid, blob)
			if err != nil {
				continue // the query that reads it reports it
			}
			exc, isExc := exceptionOf(m)
			batch = append(batch, ftsRow{id, indexText(&ix.text, m, exc.Title, isExc)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return hwm, err
		}
		if n < catchUpRows {
			last = to // nothing else in the range
		}
		if err := ix.commit(batch, last); err != nil {
			return hwm, err
		}
		hwm = last
		if hwm < to {
			ix.advance(hwm)
		}
	}
	return hwm, nil
}

// commit inserts rows into the index and moves the high-water mark to hwm,
// in one transaction.
func (ix *indexer) commit(rows []ftsRow, hwm int64) error {
	ctx := context.Background()
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmts := &txStmts{ctx: ctx, tx: tx, cache: ix.stmts}
	args := make([]any, 0, 2*rowsPerInsert)
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r.id, r.text)
		}
		query := ftsFull
		if n < rowsPerInsert {
			query = ftsSQL(n)
		}
		if _, err := stmts.exec(query, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	if _, err := stmts.exec(`UPDATE fts_meta SET value = ? WHERE key = 'indexed'`, hwm); err != nil {
		return err
	}
	return tx.Commit()
}

// ftsSQL returns the INSERT of n rows into the full-text index.
func ftsSQL(n int) string { return rowsSQL("INSERT INTO messages_fts (rowid, text) VALUES ", 2, n) }

var ftsFull = ftsSQL(rowsPerInsert)

// matches returns the ids of the messages holding the words of fts, up to
// limit of them.
func (ix *indexer) matches(ctx context.Context, fts string, limit int) ([]int64, error) {
	rows, err := ix.db.QueryContext(ctx, `SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? LIMIT ?`, fts, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// jsonIDs writes ids as a JSON array, for json_each.
func jsonIDs(ids []int64) string {
	b := make([]byte, 0, 8*len(ids)+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}
