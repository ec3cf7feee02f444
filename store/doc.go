// Package store keeps messages queryable: it is the router output behind
// the JSON API and the web UI. Messages go into SQLite (modernc.org/sqlite,
// pure Go), one database file per span of message time:
//
//	path/
//	  messages-20261122T000000Z.db       messages with timestamps in [00:00, 06:00)
//	  messages-20261122T000000Z.db-fts   their full-text index
//	  messages-20261122T060000Z.db       [06:00, 12:00) ...
//
// # Schema
//
// Each partition file holds:
//
//	messages      id INTEGER PRIMARY KEY, ts, uuid, type, logger, severity, pid,
//	              hostname, name (the first string value of Fields[name]),
//	              msg (the whole message, Heka protobuf encoded)
//	              indexes: UNIQUE (ts, uuid), (type, ts)
//	rollups       (kind, name, minute) → count, sum, last, last_ts, sketch:
//	              per metric name and minute, kept at ingest in the same
//	              transaction as the messages:
//	                counter    count of messages, sum of count/rate
//	                gauge      count, sum, last value (with +/- deltas applied)
//	                timer      count, sum of ms, a Sketch of the ms (quantiles ±1%)
//	                exception  reports per exception group and minute
//	exceptions    fingerprint → source, logger, type, title, culprit,
//	              first and last seen, count, sample (the latest report's id)
//	meta          schema version and the partition's time range
//
// and its index file (with full_text on):
//
//	messages_fts  FTS5, contentless (rowid = messages.id): the payload and the
//	              string field values, for word search
//	fts_meta      the id through which every message is indexed
//
// The index is written by a goroutine of its own, beside the writer, and
// catches up by itself on whatever it missed (see fts.go): a word search
// waits for it to hold what was stored when the search began.
//
// Messages are newest first by (ts, id). A query's matcher is translated
// to SQL where it can be (headers, Fields[name], numbers and times); what
// SQL cannot decide (regular expressions, payloads, other fields) widens
// the SQL and is finished in Go by the router's own matcher, so a query
// returns exactly what the router would match. Graphs read the rollups,
// never raw rows.
//
// # Dedupe
//
// The router delivers at least once; a message seen again carries the same
// UUID and timestamp, so it lands in the same partition, where the unique
// index of (timestamp, UUID) drops it before it reaches the index or the
// rollups. That index grows at its end, as messages come in time order,
// where one of UUIDs alone would take every insert to a random page: with
// billions of messages in a partition, a read from disk for each. So a
// query by UUID alone reads the whole partition; with a time range (the
// web UI's links to a message have one), it reads that range.
//
// # Retention
//
// A partition is dropped, files and all, when its whole time span is older
// than max_age; messages older than max_age are not stored. While the files
// together exceed max_bytes, the oldest partitions are dropped, never the
// newest. Retention runs after writes, at most every 10 seconds and
// whenever a partition is created. Dropping a file is cheap and leaves the
// other partitions' indexes as they were.
//
// # Durability
//
// Files use SQLite's WAL with synchronous=NORMAL: a committed batch
// survives a crash of the router; after a power loss the last batches may
// be lost, as the cursor of the journal may have moved past them. Each
// partition copies its log into the database file in a goroutine of its
// own, every few megabytes written, so that commits do not wait for it.
package store
