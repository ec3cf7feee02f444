package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache prepares each statement once per database file and keeps it
// until the file is closed. SQLite compiles a statement when it is
// prepared, and a multi-row INSERT takes longer to compile than to run:
// preparing them for every transaction cost more than a third of ingest.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

// get returns the prepared statement of query.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[query]; st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

// close closes every statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}

// txStmts hands out the cached statements for use in one transaction,
// each looked up once.
type txStmts struct {
	ctx   context.Context
	tx    *sql.Tx
	cache *stmtCache
	stmts map[string]*sql.Stmt
}

func (t *txStmts) get(query string) (*sql.Stmt, error) {
	if st := t.stmts[query]; st != nil {
		return st, nil
	}
	st, err := t.cache.get(t.ctx, query)
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	st = t.tx.StmtContext(t.ctx, st) // closed with the transaction
	t.stmts[query] = st
	return st, nil
}

func (t *txStmts) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.get(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}
