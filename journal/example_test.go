package journal_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/metlog/metlog/journal"
)

// An input appends records and, to acknowledge them, waits until they are
// durable; an output reads them in batches and commits its cursor once it
// has delivered each batch.
func Example() {
	j, err := journal.OpenMemory(journal.Options{}) // journal.Open(dir, …) on disk
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()

	out, err := j.Reader("output.applog")
	if err != nil {
		log.Fatal(err)
	}

	pos, err := j.Append(ctx, []byte("first"), []byte("second"), []byte("third"))
	if err != nil {
		log.Fatal(err)
	}
	if err := j.WaitDurable(ctx, pos); err != nil { // now the sender may be acked
		log.Fatal(err)
	}

	batch, err := out.Next(ctx, 100)
	if err != nil {
		log.Fatal(err)
	}
	for _, rec := range batch.Records {
		fmt.Printf("deliver %s\n", rec)
	}
	if err := out.Commit(batch.End); err != nil {
		log.Fatal(err)
	}
	records, bytes := out.Lag()
	fmt.Printf("lag: %d records, %d bytes\n", records, bytes)

	// Output:
	// deliver first
	// deliver second
	// deliver third
	// lag: 0 records, 0 bytes
}

// Inputs that cannot slow their sender down (UDP) use TryAppend, and drop
// and count what does not fit.
func ExampleJournal_TryAppend() {
	j, err := journal.OpenMemory(journal.Options{MaxBytes: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()
	if _, err := j.Reader("slow"); err != nil { // never reads
		log.Fatal(err)
	}
	record := make([]byte, 1000)
	dropped := 0
	for range 2000 {
		if _, err := j.TryAppend(record); errors.Is(err, journal.ErrFull) {
			dropped++
		}
	}
	fmt.Println("dropped:", dropped, "counted:", j.Stats().Full)
	// Output:
	// dropped: 963 counted: 963
}
