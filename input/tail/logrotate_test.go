package tail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog/input/inputtest"
)

// TestLogrotate rotates a file with the real logrotate, three times, while
// a writer appends numbered lines, and checks that every line is
// delivered exactly once and in order per file.
//
// With copytruncate, lines appended between logrotate's copy and its
// truncation are in neither file: logrotate loses them, not the input.
// Those may be delivered (read before the truncation) or not; every line
// still on disk must be. A copy made while the writer was in the middle of
// a line ends in the part of it that was written (logrotate tore it): that
// part is delivered as it is, and the line, if read whole before the
// truncation, too.
func TestLogrotate(t *testing.T) {
	bin, err := exec.LookPath("logrotate")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/logrotate"); err != nil {
			t.Skip("SKIPPED: logrotate is not installed (Debian package logrotate; `make deps` installs it)")
		}
	}
	for _, tc := range []struct {
		name, directives, glob string
	}{
		{"rename", "create", "app.log*"},
		{"copytruncate", "copytruncate", "app.log*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			conf := filepath.Join(dir, "logrotate.conf")
			if err := os.WriteFile(conf, []byte(path+" {\n\trotate 10\n\tnocompress\n\tmissingok\n\t"+tc.directives+"\n}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			sink := &inputtest.Sink{}
			stop := run(t, testConfig(t, filepath.Join(dir, tc.glob)), sink)

			// The writer appends batches of lines, opening the file for
			// each batch as a logging library reopening on rotation
			// would, and asks for a rotation every 3000 lines; it goes on
			// writing while logrotate runs. It does not create the file:
			// between logrotate's rename and its create, it tries again
			// (creating it there would make logrotate fail).
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			rotate := make(chan struct{}, 3)
			done := make(chan struct{})
			var written int
			var werr error
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n += 20 {
					if n > 0 && n%3000 == 0 && n <= 9000 {
						rotate <- struct{}{}
					}
					select {
					case <-done:
						written = n
						return
					default:
					}
					if werr = appendLines(path, numbered(n, n+20)); werr != nil {
						written = n
						return
					}
				}
			}()
			for range 3 {
				<-rotate
				out, err := exec.Command(bin, "-f", "-s", filepath.Join(dir, "logrotate.state"), conf).CombinedOutput()
				if err != nil {
					t.Fatalf("logrotate: %v\n%s", err, out)
				}
			}
			close(done)
			wg.Wait()
			if werr != nil {
				t.Fatal(werr)
			}

			onDisk := linesOnDisk(t, dir)
			waitCovered(t, sink, onDisk)
			stop()
			msgs := sink.Messages()
			seen := make(map[int]int, len(msgs))
			torn := maps.Clone(onDisk.torn)
			for _, m := range msgs {
				n, ok := lineNumber(m.Payload)
				if torn[m.Payload] > 0 {
					torn[m.Payload]--
					continue
				}
				if !ok || n >= written {
					t.Fatalf("unexpected line %q", m.Payload)
				}
				seen[n]++
			}
			lost := 0
			for n := range written {
				switch c := seen[n]; {
				case c > 1:
					t.Errorf("line %d delivered %d times", n, c)
				case c == 0 && onDisk.files[n] != "":
					t.Errorf("line %d (in %s) not delivered", n, onDisk.files[n])
				case c == 0:
					lost++
				}
			}
			if tc.name == "rename" && lost > 0 {
				t.Errorf("%d lines missing from disk after rename rotation", lost)
			}
			// In order per file: the lines of each file on disk arrive in
			// the order they are in it.
			pos := make(map[int]int, len(msgs))
			for i, m := range msgs {
				if n, ok := lineNumber(m.Payload); ok {
					pos[n] = i
				}
			}
			for file, lines := range onDisk.byFile {
				for i := 1; i < len(lines); i++ {
					if pos[lines[i]] < pos[lines[i-1]] {
						t.Fatalf("%s: line %d delivered before line %d", file, lines[i], lines[i-1])
					}
				}
			}
			t.Logf("%d lines written, %d delivered, %d lost by logrotate between copy and truncation", written, len(msgs), lost)
		})
	}
}

func appendLines(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	for errors.Is(err, fs.ErrNotExist) {
		runtime.Gosched()
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// lineNumber returns the number of a whole line written by the test.
func lineNumber(s string) (int, bool) {
	digits, ok := strings.CutPrefix(s, "line ")
	if !ok || len(digits) != 6 {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n >= 0
}

// disk is what the log files hold after the rotations.
type disk struct {
	files  map[int]string   // line number → the file holding it
	byFile map[string][]int // file → its line numbers in order
	torn   map[string]int   // last lines cut short, without a newline
	any    string
}

func linesOnDisk(t *testing.T, dir string) disk {
	t.Helper()
	d := disk{files: map[int]string{}, byFile: map[string][]int{}, torn: map[string]int{}}
	matches, _ := filepath.Glob(filepath.Join(dir, "app.log*"))
	for _, p := range matches {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(f)
		for {
			line, err := r.ReadString('\n')
			if err == io.EOF {
				if line != "" {
					d.torn[line]++
				}
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n, ok := lineNumber(strings.TrimSuffix(line, "\n"))
			if !ok {
				t.Fatalf("%s: %q", p, line)
			}
			if prev := d.files[n]; prev != "" {
				t.Fatalf("line %d is in %s and %s", n, prev, p)
			}
			d.files[n] = filepath.Base(p)
			d.byFile[p] = append(d.byFile[p], n)
			d.any = p
		}
		f.Close()
	}
	return d
}

// waitCovered waits until every line on disk has been delivered.
func waitCovered(t *testing.T, sink *inputtest.Sink, d disk) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs := sink.Messages()
		got := make(map[string]bool, len(msgs))
		for _, m := range msgs {
			got[m.Payload] = true
		}
		missing := 0
		var example []string
		for n, file := range d.files {
			if !got[fmt.Sprintf("line %06d", n)] {
				missing++
				if len(example) < 5 {
					example = append(example, fmt.Sprintf("%d in %s", n, file))
				}
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			out, _ := exec.Command("sh", "-c", "ls -li "+filepath.Dir(d.any)+"; cat "+filepath.Dir(d.any)+"/logrotate.state").CombinedOutput()
			t.Logf("%s", out)
			t.Fatalf("%d lines on disk not delivered, such as %s", missing, strings.Join(example, ", "))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		sink.Wait(ctx, len(msgs)+1)
		cancel()
	}
}
