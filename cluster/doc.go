// Package cluster holds the tests of metlog scaled out on NATS JetStream
// (docs/scaling.md): real `metlog router` processes and a real three-node
// JetStream cluster, with nodes and routers killed mid-stream, and the
// sharded statsd aggregation compared with one router's. It has no code of
// its own.
package cluster
