package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
)

// wordTests are word searches over generated messages.
func wordTests(t *testing.T, s *Store, msgs []*metlog.Message) {
	t.Helper()
	from, to := base.Add(30*time.Minute).UnixNano(), base.Add(90*time.Minute).UnixNano()
	testRangeAndWords(t, s, msgs, "word", Query{Words: []string{"WORKER-2"}, From: from, To: to},
		func(m *metlog.Message) bool { return hasTokens(m.Payload, "worker", "2") }, 0)
	testRangeAndWords(t, s, msgs, "field value", Query{Words: []string{"orders"}, Match: "Severity < 4"},
		func(m *metlog.Message) bool {
			f := m.Field("headers.path")
			return m.Severity < 4 && f != nil && f.Strings[0] == "/api/orders"
		}, 0)
}

// TestIndexReadBack stores messages with full text off, then opens the
// store with it on: the index is built from the partitions.
func TestIndexReadBack(t *testing.T) {
	msgs, cfg := writtenClosed(t, 1200)
	cfg.FullText = true
	s2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	wordTests(t, s2, msgs)
	if lag := s2.Stats().IndexLag; lag != 0 {
		t.Errorf("index lag %d after the searches", lag)
	}
}

// TestIndexDroppedBatches gives the indexer no queue: the batches it is
// not waiting for are read back from the partition, and searches right
// after each write find what it wrote.
func TestIndexDroppedBatches(t *testing.T) {
	defer func(n int) { indexQueue = n }(indexQueue)
	indexQueue = 0
	msgs := generated(1200)
	s := openTest(t, nil)
	for i := 0; i < len(msgs); i += 50 {
		write(t, s, msgs[i:i+50])
		got := all(t, s, Query{Words: []string{"worker"}})
		want := 0
		for _, m := range msgs[:i+50] {
			if hasTokens(m.Payload, "worker") {
				want++
			}
		}
		if len(got) != want {
			t.Fatalf("after %d messages: %d found, want %d", i+50, len(got), want)
		}
	}
	wordTests(t, s, msgs)
}

// TestIndexFromVersion1 opens partitions of schema version 1, whose index
// was in the partition file: it is dropped there and rebuilt beside it.
func TestIndexFromVersion1(t *testing.T) {
	msgs := generated(1200)
	s := openTest(t, nil)
	write(t, s, msgs)
	cfg := s.cfg
	s.Close()
	files, _ := filepath.Glob(filepath.Join(cfg.Path, "messages-*.db"))
	if len(files) != 3 {
		t.Fatalf("%d partition files, want 3", len(files))
	}
	for _, f := range files {
		db, err := sql.Open("sqlite", "file:"+f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(`CREATE VIRTUAL TABLE messages_fts USING fts5 (text, content='', detail='none', columnsize=0);
			INSERT INTO messages_fts (rowid, text) VALUES (1, 'old');
			UPDATE meta SET value = 1 WHERE key = 'version'`)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, suffix := range []string{"-fts", "-fts-wal", "-fts-shm"} {
			os.Remove(f + suffix)
		}
	}
	s2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	wordTests(t, s2, msgs)
	for _, f := range files {
		db, err := sql.Open("sqlite", "file:"+f)
		if err != nil {
			t.Fatal(err)
		}
		var version, tables int
		err = db.QueryRow(`SELECT (SELECT value FROM meta WHERE key = 'version'),
			(SELECT count(*) FROM sqlite_master WHERE name LIKE 'messages_fts%')`).Scan(&version, &tables)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if version != schemaVersion || tables != 0 {
			t.Errorf("%s: version %d with %d index tables left", filepath.Base(f), version, tables)
		}
	}
}

// TestIndexFilesRemoved checks that retention removes a partition's
// index with it.
func TestIndexFilesRemoved(t *testing.T) {
	s := openTest(t, nil)
	write(t, s, generated(1200))
	s.syncIndex(context.Background(), time.Minute)
	dir := s.cfg.Path
	s.mu.RLock()
	p := s.parts[0]
	s.mu.RUnlock()
	if err := p.remove(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, filepath.Base(p.path)+"*"))
	if len(left) > 0 {
		t.Errorf("files left after removing a partition: %s", strings.Join(left, ", "))
	}
}

// TestIndexNotThePartitions empties an index that is ahead of its
// partition (which lost commits in a power loss) or was made for another
// file of the same name, and builds it again.
func TestIndexNotThePartitions(t *testing.T) {
	for _, tc := range []struct{ name, edit string }{
		{"ahead", `UPDATE fts_meta SET value = value + 1000 WHERE key = 'indexed'`},
		{"another file", `UPDATE fts_meta SET value = value + 1 WHERE key = 'created'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs := generated(1200)
			s := openTest(t, nil)
			write(t, s, msgs)
			s.syncIndex(context.Background(), time.Minute)
			cfg := s.cfg
			s.Close()
			files, _ := filepath.Glob(filepath.Join(cfg.Path, "messages-*.db"))
			for _, f := range files {
				db, err := sql.Open("sqlite", "file:"+ftsPath(f))
				if err != nil {
					t.Fatal(err)
				}
				// An entry that names the wrong message: it must go.
				_, err = db.Exec(`INSERT INTO messages_fts (rowid, text) VALUES (1, 'stale'); ` + tc.edit)
				db.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			s2, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			wordTests(t, s2, msgs)
			if got := all(t, s2, Query{Words: []string{"stale"}}); len(got) != 0 {
				t.Errorf("a stale index entry was kept: %d found", len(got))
			}
		})
	}
}
