package statsd_test

import (
	"fmt"

	"github.com/metlog/metlog/codec/statsd"
)

func Example() {
	datagram := []byte("page.views:1|c\nqueue.depth:-2|g|#env:prod\nbad line\ndb.query:12|ms|@0.5\n")
	var m statsd.Metric
	for line := range statsd.Lines(datagram) {
		if err := statsd.Parse(line, &m); err != nil {
			fmt.Printf("%q: %v\n", line, err)
			continue
		}
		fmt.Printf("%s %s %s rate=%g tags=%d\n", m.Type, m.Name, m.Value, m.Rate, len(m.Tags))
	}
	// Output:
	// c page.views 1 rate=1 tags=0
	// g queue.depth -2 rate=1 tags=1
	// "bad line": statsd: no value
	// ms db.query 12 rate=0.5 tags=0
}
