// etsy statsd for the statsd workload: UDP on loopback, no backend, and a
// flush interval longer than any run, so that the management interface's
// counters (statsd.metrics_received) count every line of the run.
{
  address: "127.0.0.1",
  port: {{.Port}},
  mgmt_address: "127.0.0.1",
  mgmt_port: {{.MgmtPort}},
  backends: [],
  flushInterval: 3600000
}
