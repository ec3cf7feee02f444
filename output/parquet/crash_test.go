package parquet

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	pq "github.com/parquet-go/parquet-go"
)

// crashDirEnv names the directory TestCrashWriter writes to; the variable
// is set only when TestCrash runs it as a child process.
const crashDirEnv = "METLOG_PARQUET_CRASH_DIR"

// crashConfig is the configuration of the writer that is killed: small
// files, so that files are renamed into place while it runs. Spools are
// not fsynced: a killed process loses nothing the kernel has, and fsync
// only matters for power loss, which a test cannot cause.
func crashConfig(dir string) Config {
	cfg := testConfig(dir)
	cfg.MaxFileSize = 32 << 10
	cfg.RowGroupSize = 8 << 10
	return cfg
}

// crashUUID is the UUID of the i-th message of the crash test: the index,
// big-endian, so that UUIDs sort as they were written.
func crashUUID(i int) metlog.UUID {
	var u metlog.UUID
	binary.BigEndian.PutUint64(u[8:], uint64(i))
	return u
}

// TestCrashWriter is the child process of TestCrash: it writes batches
// until it is killed, printing "acked N" once Write has accepted the
// first N messages.
func TestCrashWriter(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child process of TestCrash")
	}
	o, err := New(crashConfig(dir), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	types := []string{"timer", "counter", "oldstyle"}
	const batch = 100
	for n := 0; n < 10_000_000; n += batch {
		msgs := make([]*metlog.Message, batch)
		for i := range msgs {
			msgs[i] = &metlog.Message{
				UUID: crashUUID(n + i), Timestamp: t0.UnixNano() + int64(n+i)*int64(time.Millisecond),
				Type: types[(n+i)%len(types)], Logger: "crash", Severity: metlog.Info, Payload: "payload " + strconv.Itoa(n+i),
				EnvVersion: metlog.EnvVersion, Hostname: "h", Fields: []metlog.Field{metlog.Int("i", int64(n+i))},
			}
		}
		if err := o.Write(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("acked %d\n", n+batch)
	}
}

// TestCrash kills a writer with SIGKILL in the middle of its work, then
// checks that no partial file was ever visible and that, after recovery,
// every message it acknowledged is in the files.
func TestCrash(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$", "-test.v=false")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	// Kill it once it has acknowledged enough for several files to have
	// been renamed into place.
	const enough = 6000
	acked := 0
	sc := bufio.NewScanner(stdout)
	for acked < enough && sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked, _ = strconv.Atoi(n)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	for sc.Scan() { // acknowledgements printed before it died
		if n, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked, _ = strconv.Atoi(n)
		}
	}
	if acked < enough {
		t.Fatalf("the writer stopped after %d messages", acked)
	}

	// Before recovery: every visible file is whole.
	before := files(t, dir)
	if len(before) == 0 {
		t.Fatal("no file was closed before the kill")
	}
	for _, f := range before {
		if _, err := pq.ReadFile[row](filepath.Join(dir, f)); err != nil {
			t.Errorf("visible file %s is not whole: %v", f, err)
		}
	}
	res := duckDB(t, "SELECT count(*)::INTEGER AS n FROM "+scan(dir))
	t.Logf("killed after %d acknowledged; %d files with %v rows visible", acked, len(before), res[0][0]["n"])

	// Recovery.
	o, err := New(crashConfig(dir), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if got := inflight(t, dir); len(got) != 0 {
		t.Errorf("inflight after recovery: %v", got)
	}
	last := crashUUID(acked - 1).String()
	res = duckDB(t,
		"SELECT count(DISTINCT uuid)::INTEGER AS acked, count(*)::INTEGER AS n FROM "+scan(dir)+" WHERE uuid <= '"+last+"'",
		"SELECT count(*)::INTEGER - count(DISTINCT uuid)::INTEGER AS dups FROM "+scan(dir),
	)
	if got := res[0][0]["acked"]; got != float64(acked) {
		t.Errorf("%v acknowledged messages in the files, want %d", got, acked)
	}
	if d := res[1][0]["dups"]; d != float64(0) {
		t.Errorf("%v messages written twice", d)
	}
}
