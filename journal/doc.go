// Package journal is the router's durable log: every accepted message is
// appended once, and every output, aggregator and the store reads it through
// its own durable cursor. A slow or dead endpoint only lags; it never blocks
// another, and it never blocks the inputs until it lags by Options.MaxBytes.
//
// The journal is agnostic about content: records are opaque byte slices of
// at most MaxRecordSize bytes (the router stores Heka protobuf messages).
//
//	inputs ──Append / TryAppend──▶ pending buffer ──one writer, one write()──▶ active segment
//	                                                                              │
//	      WaitDurable ◀── durable ◀── sync goroutine: fsync segments, cursor log ─┘
//	                                                                              │
//	      Reader "out.a" ──Next──▶ batch ──deliver──▶ Commit ──▶ cursor log ◀─────┤
//	      Reader "store" ──Next──▶ …                                               (each its own)
//
// # Directory layout
//
//	metlog-data/journal/
//	├── LOCK                                             flock(2): one process per directory
//	├── cursors                                          cursor log (see below)
//	├── cursors.tmp                                      only while the cursor log is rewritten
//	├── 00000000000000000000-00000000000000000000.heka   sealed segment: records 0…, bytes 0…
//	├── 00000000000000251372-00000000000067108901.heka   sealed segment
//	└── 00000000000000502731-00000000000134217802.heka   active segment (the last one)
//	     └── first record's sequence number ┘ └ first record's byte offset
//
// A segment's name is the position of its first record. Positions (Pos)
// are global and only grow: Seq counts records, Off counts framed bytes
// since the journal was created, so a reader's lag is a subtraction in
// either unit. Off is authoritative — it says where a record is — and Seq
// is counted. A corrupt span counts as one record, which is exact when one
// record's bytes were damaged; when corruption took several records' headers
// the count drifts until the next segment's name sets it right again.
//
// # Segment format
//
// A segment is a Heka stream: Heka's splitter, and `metlog cat`, read it as
// they read a TCP stream.
//
//	┌──────┬──────┬─────────────────────────────────────┬──────┬──────────────────┐
//	│ 0x1E │ hlen │ Header protobuf (hlen bytes)         │ 0x1F │ record bytes     │
//	│      │      │  1: message_length  varint           │      │ (message_length) │
//	│      │      │ 15: CRC-32C(record) fixed32          │      │                  │
//	└──────┴──────┴─────────────────────────────────────┴──────┴──────────────────┘
//
// Field 15 is a metlog extension; Heka's decoder skips fields it does not
// know, so Heka still reads the records. The CRC-32C (Castagnoli) covers the
// record bytes. A record whose header does not parse, whose separator is
// missing or whose checksum does not match is corrupt: readers skip forward
// to the next 0x1E that starts a valid record, byte by byte as Heka does (a
// corrupt length never makes them jump over good records), and count the
// span once in Stats.Corrupt and per reader in ReaderStats.Corrupt.
//
// The writer seals the active segment once it reaches Options.SegmentSize
// (it may exceed it by one write batch) and starts the next. Sealed segments
// never change. Open scans only the last segment: whatever follows its last
// valid record is a torn write, which is cut off and counted in Stats.Torn;
// it then starts a fresh active segment, so every byte written in a run
// lands in a clean segment.
//
// # Cursors
//
// Readers commit often (every delivered batch), so cursors are kept in an
// append-only log rather than a file per reader. The sync goroutine appends
// one framed entry per reader whose cursor moved since its last cycle, then
// syncs the log:
//
//	cursors:  [pos "out.a" 1200@301200] [pos "store" 1100@276100] [pos "out.a" 1400@351400] [removed "old"] …
//	entry body: kind (1 pos, 2 removed) | uvarint len(name) | name | uvarint seq | uvarint off
//
// On Open the last valid entry per name wins (torn and corrupt entries are
// skipped), and the log is rewritten compactly — one entry per reader —
// through cursors.tmp and an atomic rename; the same happens whenever it
// outgrows 1 MiB. Cursors are written every SyncInterval under every policy
// and synced with the data under SyncAlways and SyncBatch. A cursor that
// points past the recovered end (the reader read records that were never
// made durable) is moved back to the end.
//
// # Delivery guarantees
//
// At least once: a reader's cursor moves only when it commits, so after a
// crash it reads again from its last persisted cursor; duplicates are
// bounded by what it committed in the last sync interval. Readers see
// records as soon as they are written, before they are synced. A segment is
// deleted only once every reader's persisted cursor is past it, after the
// cursor log has been synced; a crash can therefore never leave a cursor
// pointing at deleted records.
//
// # Durability
//
// SyncAlways: Append returns once its records are fsynced; concurrent
// appends share each fsync. SyncBatch (the default): the journal syncs every
// SyncInterval, and at once when someone calls WaitDurable — an
// acknowledging input appends, then waits for the returned position to be
// durable before it acks. SyncNever: the operating system decides;
// WaitDurable returns once the records are written. In memory there is
// nothing to sync: WaitDurable returns once records are written.
//
// # Backpressure and retention
//
// MaxBytes bounds the lag of the slowest reader (head minus its cursor, in
// bytes). When an append would exceed it, Append waits for readers to
// commit (TCP and HTTP inputs slow their senders down) and TryAppend fails
// with ErrFull (UDP drops and counts). Appends also wait, or fail, while
// the writer is behind: Append once 4 MiB wait to be written, TryAppend
// only once 16 MiB do, so that a UDP input rides out a writer's pause (a
// busy disk, a descheduled goroutine) without losing datagrams. With
// DropUnread set, retention instead deletes the oldest segments while more
// than MaxBytes is retained, or when they are older than MaxAge, and every
// reader that had not read them counts the records as Lost. A journal with no readers keeps nothing:
// segments are deleted once sealed. A reader seen for the first time starts
// at the oldest record retained; RemoveReader forgets a reader so that it
// stops pinning segments.
//
// # A full filesystem
//
// A write that fails with ENOSPC does not fail the journal. The writer cuts
// the segment back to where the write started, keeps the records pending,
// and tries again every 200ms. Until a write succeeds, Append returns the
// error (acknowledging inputs refuse with it), TryAppend returns ErrFull
// wrapping it (UDP drops and counts), and WaitDurable returns it to anyone
// waiting for records not yet written — which may still be written once
// space returns: at least once, as with a cancelled wait. Cursor entries
// that do not fit are kept in memory and written by a later cycle; segments
// are deleted only once they are. Readers carry on with what was written.
// Any other write or sync error is sticky: the journal accepts no more
// records, and Close returns it.
//
// # Reader states
//
//	             Reader(name)
//	                 │
//	                 ▼         records buffered or readable
//	  ┌─────────▶ locate ───────────────────────────────▶ return Batch ──▶ (caller delivers, Commit)
//	  │    (segment holding pos;      │                          │
//	  │     oldest one if retention   │ nothing new               │ next call
//	  │     dropped pos)              ▼                          ▼
//	  │                         wait on data signal ◀──── scan buffer / read segment
//	  │                        (Next blocks; ctx, Close        │
//	  │                         and Journal.Close wake it)     │ sealed segment used up
//	  │                                                        ▼
//	  └──────────────────────────────────────────────── advance to the next segment
//	                                                     (pos = its name: Seq resynchronised)
//
//	Reset: pos = cursor, back to locate.   Close: handle released, cursor kept.
//	RemoveReader: cursor forgotten (reader must be closed).
//
// # Goroutines
//
// A journal runs two: the writer, which moves the pending buffer to the
// active segment and rolls segments, and the sync goroutine, which syncs,
// persists cursors and applies retention. An Append that finds nothing
// pending and the writer idle does the writer's work itself, at once: the
// bytes it framed are still in its CPU's cache, which halves the cost of
// copying them into the page cache. Close stops both after they have
// written and synced everything accepted, and closes the files.
package journal
