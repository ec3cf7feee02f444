package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

// journalRecord is one record of a segment file, as the test found it
// before it damaged anything.
type journalRecord struct {
	seg     string // segment file path
	off, n  int    // where the framed record is in the file
	payload string
	damaged bool // a byte flipped, or cut off
}

// segmentRecords parses the framed records of a segment file.
func segmentRecords(t *testing.T, path string) []*journalRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*journalRecord
	var rec heka.Record
	var m metlog.Message
	for off := 0; off < len(b); {
		n, err := heka.ParseRecord(b[off:], &rec, 0)
		if err != nil {
			t.Fatalf("%s at %d: %v (the test damages only segments it has parsed)", path, off, err)
		}
		if err := heka.Unmarshal(rec.Message, &m); err != nil {
			t.Fatalf("%s at %d: %v", path, off, err)
		}
		out = append(out, &journalRecord{seg: path, off: off, n: n, payload: m.Payload})
		off += n
	}
	return out
}

// Scenario 4: between runs the journal's segment files are damaged — the
// last one truncated in the middle of a record (a torn write), bytes
// flipped in records at random offsets of every segment. Each time the
// router starts, reports the torn tail, and in the end one output delivers
// every record but the damaged ones, and counts exactly as many corrupt
// records as the test damaged.
func TestCorruptJournal(t *testing.T) {
	rounds := scale(2, 5)
	perRound := 10_000
	flipsPerRound := scale(5, 20)
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("METLOG_CHAOS_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("random offsets from seed %d (METLOG_CHAOS_SEED=%d repeats them)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	dir := t.TempDir()
	// While the journal fills, the one output forwards to an address
	// nobody listens on: it reads, never delivers, never commits, so the
	// journal keeps every record (8 MiB: segments of 2 MiB).
	base := routerConfig(t, "journal_max_bytes = 8388608")
	dead := base + fmt.Sprintf(`
[input.http]
[output.all]
type = "tcp"
address = %q
retry_max = "1s"
`, freePort(t, "tcp"))

	var recs []*journalRecord
	seen := map[string]bool{}
	torn, flips := 0, 0
	sent := 0
	var tornReported []float64
	for round := range rounds {
		p := startProc(t, dir, dead)
		if round > 0 {
			tornReported = append(tornReported, p.counter("journal", "torn"))
		}
		for range perRound / 1000 {
			lines := make([]string, 1000)
			for i := range lines {
				lines[i] = fmt.Sprintf(`{"type": "chaos", "payload": "m%d"}`, sent)
				sent++
			}
			if code, body := post(t, p.addr("http"), lines...); code != 200 {
				t.Fatalf("round %d: %d %s", round, code, body)
			}
		}
		p.kill()

		// Learn the records of the segments this round wrote.
		segs, _ := filepath.Glob(filepath.Join(dir, "data", "journal", "*.heka"))
		slices.Sort(segs) // names are zero-padded positions
		for _, s := range segs {
			if !seen[s] {
				seen[s] = true
				recs = append(recs, segmentRecords(t, s)...)
			}
		}
		// Tear the last segment that has records in the middle of one of
		// its later records.
		var last []*journalRecord
		for _, r := range recs {
			if r.seg == recs[len(recs)-1].seg {
				last = append(last, r)
			}
		}
		cut := len(last)/2 + rng.IntN(len(last)-len(last)/2)
		at := last[cut].off + 1 + rng.IntN(last[cut].n-1)
		if err := os.Truncate(last[cut].seg, int64(at)); err != nil {
			t.Fatal(err)
		}
		for _, r := range last[cut:] {
			r.damaged = true
		}
		torn++
		// Flip one byte in each of a few records, never two neighbours
		// (adjacent damage is one corrupt span) and never the last
		// record before the tear (it would be part of the torn tail).
		flippable := func(i int) bool {
			r := recs[i]
			if r.damaged || r == last[cut-1] {
				return false
			}
			for _, k := range []int{i - 1, i + 1} {
				if k >= 0 && k < len(recs) && recs[k].seg == r.seg && recs[k].damaged {
					return false
				}
			}
			return true
		}
		for done := 0; done < flipsPerRound; {
			i := rng.IntN(len(recs))
			if !flippable(i) {
				continue
			}
			r := recs[i]
			f, err := os.OpenFile(r.seg, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 1)
			pos := int64(r.off + rng.IntN(r.n))
			f.ReadAt(b, pos)
			b[0] ^= 0xff
			if _, err := f.WriteAt(b, pos); err != nil {
				t.Fatal(err)
			}
			f.Close()
			r.damaged = true
			done++
			flips++
		}
	}

	// The last run delivers to a file.
	p := startProc(t, dir, base+`
[input.http]
[output.all]
type = "file"
template = "{payload}"
path = "all.log"
`)
	tornReported = append(tornReported, p.counter("journal", "torn"))
	p.caughtUp(2*time.Minute, "all")
	st := p.status()
	p.stop()

	got := map[string]bool{}
	for _, l := range strings.Fields(readFile(t, filepath.Join(dir, "all.log"))) {
		got[l] = true
	}
	damaged := 0
	for _, r := range recs {
		if r.damaged {
			damaged++
			if got[r.payload] {
				t.Errorf("damaged record %s was delivered", r.payload)
			}
		} else if !got[r.payload] {
			t.Errorf("intact record %s was not delivered", r.payload)
		}
	}
	if len(recs) != sent {
		t.Errorf("the test parsed %d records, sent %d", len(recs), sent)
	}
	for i, n := range tornReported {
		if n != 1 {
			t.Errorf("start %d reported %v torn tails, want 1", i+2, n)
		}
	}
	// The journal counts each corrupt span once (recovery's scan of the
	// last segment and the readers share the count); the output's own
	// corrupt counter is for records that are intact but do not decode.
	corrupt := lookup(st, "journal", "corrupt")
	if corrupt != float64(flips) {
		t.Errorf("the journal counted %v corrupt records, the test flipped bytes in %d", corrupt, flips)
	}
	figures(t, "corrupt_journal", "seed", seed, "runs", rounds+1, "records", sent, "segments", len(seen),
		"torn_tails_made", torn, "torn_tails_reported", fmt.Sprint(tornReported),
		"records_cut_off", damaged-flips, "records_flipped", flips, "corrupt_reported", corrupt,
		"output_corrupt", lookup(st, "outputs", "all", "corrupt"),
		"delivered", len(got), "intact", sent-damaged)
}
