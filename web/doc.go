// Package web serves metlog's reporting and querying interface on the
// router's HTTP address: the JSON API over the embedded store or a
// ClickHouse table (package store/clickhouse) (api*.go),
// and the web UI beside it (package web/ui): GET / leads to its pages under
// /ui/.
//
//	GET /api/messages         search: match, from, to, q (words), limit, cursor
//	GET /api/series           metric series: kind, name (repeatable), from, to, step
//	GET /api/series/names     the metric names the store has rollups for
//	GET /api/exceptions       exception groups: from, to, logger, buckets, limit
//
// The router itself serves /api/status, /api/config (the configuration in
// effect) and /api/stream (the live tail).
// Times (from, to) are RFC 3339 ("2026-11-22T10:00:00Z"), nanoseconds since
// the epoch, or a duration meaning that long before now ("15m", "24h").
// Every error is a JSON object {"error": "...", "param": "..."} whose text
// says what to fix.
//
// Output is the "store" output plugin: a store.Store (or, with backend
// "clickhouse", a clickhouse output) with these routes.
//
// Guard protects the whole HTTP address (guard.go, tokens.go): security
// headers on every response, cross-site state changes refused, and, with
// [router.auth], read and admin tokens (a bearer header, or the cookie the
// sign-in form at /login sets); see docs/security.md.
package web
