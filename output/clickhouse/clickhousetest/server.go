// Package clickhousetest starts a real clickhouse-server for tests: its
// own config in a temporary directory, loopback only, on free ports, with
// a "default" user without password.
package clickhousetest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/metlog/metlog/output/outputtest"
)

// Server is a clickhouse-server a test started.
type Server struct {
	// URL is the server's HTTP interface, http://127.0.0.1:PORT/.
	URL string
	// Dir holds the server's config, data and log.
	Dir string
}

const configXML = `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>%[1]s/server.log</log>
    <errorlog>%[1]s/server.err.log</errorlog>
    <console>0</console>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>%[2]d</http_port>
  <tcp_port>%[3]d</tcp_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
</yandex>
`

const usersXML = `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
`

// Start starts a clickhouse-server that is stopped when the test ends. It
// skips the test when clickhouse-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		t.Skip("SKIPPED: clickhouse-server is not installed (Debian package clickhouse-server; `make deps` installs it)")
	}
	dir := t.TempDir()
	httpPort, tcpPort := freePort(t), freePort(t)
	cfg := filepath.Join(dir, "config.xml")
	write(t, cfg, fmt.Sprintf(configXML, dir, httpPort, tcpPort))
	write(t, filepath.Join(dir, "users.xml"), usersXML)
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d/", httpPort), Dir: dir}
	p := outputtest.StartProcess(t, "clickhouse-server", exec.Command(bin, "--config-file="+cfg))
	t.Cleanup(func() {
		if t.Failed() {
			if log, err := os.ReadFile(filepath.Join(dir, "server.err.log")); err == nil {
				t.Logf("clickhouse-server errors:\n%s", log)
			}
		}
	})
	client := &http.Client{Timeout: time.Second}
	p.WaitReady(t, 60*time.Second, func() bool {
		resp, err := client.Get(s.URL + "ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

func write(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
