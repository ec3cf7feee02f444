package heka_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

// A sender frames and signs messages; a receiver reads the stream,
// skipping garbage, checks each signature and decodes the message.
func Example() {
	signer := &heka.Signer{Name: "app", Version: 2, Hash: heka.SHA256, Key: "s3cret"}
	var stream []byte
	for _, payload := range []string{"first", "second"} {
		m := &metlog.Message{Type: "oldstyle", Logger: "app", Severity: metlog.Info, Payload: payload}
		var err error
		if stream, err = heka.AppendRecord(stream, m, signer); err != nil {
			panic(err)
		}
		stream = append(stream, "noise"...)
	}

	var keys heka.KeySet
	keys.Add("app", 1, "old secret") // the previous key, still accepted
	keys.Add("app", 2, "s3cret")

	r := heka.NewReader(bytes.NewReader(stream), 0)
	var m metlog.Message
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		status := rec.Verify(&keys)
		if err := heka.Unmarshal(rec.Message, &m); err != nil {
			panic(err)
		}
		fmt.Printf("%s %s %q (%v)\n", m.Severity, m.Type, m.Payload, status)
	}
	fmt.Println("garbage bytes skipped:", r.Skipped())
	// Output:
	// INFO oldstyle "first" (valid)
	// INFO oldstyle "second" (valid)
	// garbage bytes skipped: 10
}
