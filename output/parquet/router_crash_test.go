package parquet_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output/parquet"
	"github.com/metlog/metlog/router"
)

// routerDirEnv names the directory of TestRouterProcess's router; it is
// set only when TestRouterCrash runs it as a child process.
const routerDirEnv = "METLOG_PARQUET_ROUTER_DIR"

// TestRouterProcess is the child process of TestRouterCrash: a router with
// an HTTP input and a parquet output under the directory it is given. It
// prints "http ADDR" once it runs, and stops on SIGTERM.
func TestRouterProcess(t *testing.T) {
	dir := os.Getenv(routerDirEnv)
	if dir == "" {
		t.Skip("the child process of TestRouterCrash")
	}
	cfg, err := config.Parse("test.toml", []byte(`
[router]
data_dir = "`+filepath.Join(dir, "data")+`"
http = "127.0.0.1:0"
sync = "always"
[input.http]
[output.warehouse]
type = "parquet"
dir = "`+filepath.Join(dir, "parquet")+`"
sync = false
max_file_size = 32768
row_group_size = 8192
batch_size = 50
`), router.Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(cfg, router.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fmt.Printf("http %s\n", r.HTTPAddr())
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// routerProcess is a running TestRouterProcess.
type routerProcess struct {
	cmd  *exec.Cmd
	base string // http://ADDR
}

func startRouter(t *testing.T, dir string) *routerProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRouterProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), routerDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "http "); ok {
			go func() { // drain
				for sc.Scan() {
				}
			}()
			return &routerProcess{cmd: cmd, base: "http://" + addr}
		}
	}
	t.Fatal("the router process ended before it listened")
	return nil
}

// routerUUID is the UUID of the i-th message: the index plus one,
// big-endian (the router replaces a zero UUID with one of its own).
func routerUUID(i int) metlog.UUID {
	var u metlog.UUID
	binary.BigEndian.PutUint64(u[8:], uint64(i)+1)
	return u
}

// TestRouterCrash kills a router with SIGKILL while it delivers to the
// parquet output, starts it again, and checks that every message the
// router acknowledged to its HTTP client is in the Parquet files.
func TestRouterCrash(t *testing.T) {
	if os.Getenv(routerDirEnv) != "" {
		t.Skip("in the child process")
	}
	dir := t.TempDir()
	r := startRouter(t, dir)
	types := []string{"timer", "counter", "oldstyle"}
	ts := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	const batch, enough = 100, 3000
	acked := 0
	for acked < enough {
		var body bytes.Buffer
		for i := acked; i < acked+batch; i++ {
			m := metlog.Message{
				UUID: routerUUID(i), Timestamp: ts.Add(time.Duration(i) * time.Millisecond).UnixNano(),
				Type: types[i%len(types)], Logger: "crash", Severity: metlog.Info, Payload: fmt.Sprint(i),
				EnvVersion: metlog.EnvVersion, Hostname: "h",
			}
			body.Write(m.AppendJSON(nil))
			body.WriteByte('\n')
		}
		resp, err := http.Post(r.base+"/v1/messages", "application/x-ndjson", &body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("ingest status %d", resp.StatusCode)
		}
		acked += batch
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()

	// Restart: the output recovers its open files, the router delivers
	// what its cursor had not passed. Wait until it has caught up, then
	// stop it cleanly so that it closes its files.
	r = startRouter(t, dir)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st router.Status
		resp, err := http.Get(r.base + "/api/status")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.Outputs["warehouse"].LagRecords == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the output is still %d records behind", st.Outputs["warehouse"].LagRecords)
		}
		time.Sleep(20 * time.Millisecond) // polling the status; there is no signal to await
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("router process: %v", err)
	}

	out := filepath.Join(dir, "parquet")
	res := parquet.QueryDuckDB(t,
		"SELECT count(DISTINCT uuid)::INTEGER AS acked, count(*)::INTEGER AS n FROM "+parquet.Scan(out)+
			" WHERE uuid <= '"+routerUUID(acked-1).String()+"'")
	if got := res[0][0]["acked"]; got != float64(acked) {
		t.Errorf("%v acknowledged messages in the files, want %d", got, acked)
	}
	t.Logf("%d acknowledged; %v rows for them in the files (duplicates carry the same uuid)", acked, res[0][0]["n"])
}
