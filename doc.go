// Package metlog is the vocabulary of the metlog system — the Message, its
// typed Fields and Severity — and the client library that applications use
// to emit messages.
//
// Metlog separates the generation of logging and metrics data from its
// delivery and analysis. An application labels a message with a type and
// metadata and hands it to a Client; it never talks to statsd, Sentry, a log
// file or a data warehouse itself. A router receives the messages, decides by
// type and metadata which endpoints get each one, and delivers them:
//
//	 generators                     router (metlog router)                         endpoints
//	┌──────────────┐   metlog JSON  ┌────────┐  ┌─────────┐  one cursor per reader  ┌──────────────┐
//	│ Go client    │──── UDP ──────▶│ inputs │─▶│ journal │──▶ match → deliver ────▶│ files        │
//	│ (this pkg)   │   heka stream  │ udp    │  │ append- │──▶ match → deliver ────▶│ statsd,      │
//	│ metlog-py    │──── TCP ──────▶│ tcp    │  │ only,   │──▶ match → deliver ────▶│ carbon, prom │
//	│ heka clients │   statsd       │ http   │  │ durable │──▶ match → aggregate ─┐ │ Sentry       │
//	│ statsd libs  │──── UDP ──────▶│ statsd │  └─────────┘       (derived msgs)──┘ │ store + UI   │
//	└──────────────┘                └────────┘       ▲                              └──────────────┘
//	                                                 └── no endpoint ever blocks another
//
// The client side of that picture is this package:
//
//	c, err := metlog.Dial("udp://127.0.0.1:5565", metlog.WithLogger("myapp"))
//	...
//	c.Incr("page_views")
//	defer c.Timer("db_query").Stop()
//	c.Info("user logged in", metlog.String("user", "bob"))
//	c.Close()
//
// Sending never blocks the application: messages go through a bounded queue
// to a Sender, and what cannot be queued is dropped and counted.
//
// The wire formats live in subpackages: codec/metlogjson (metlog JSON, as
// metlog-py writes it) and codec/heka (Heka's protobuf stream framing). The
// encoders are methods on Message (AppendJSON, AppendProtobuf) because the
// client needs them; the decoders live with their codec.
package metlog
