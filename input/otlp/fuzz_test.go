package otlp

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// seeds returns the requests of testdata, one per line.
func seeds(f *testing.F) [][]byte {
	files, _ := filepath.Glob("testdata/*/*.jsonl")
	var out [][]byte
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			out = append(out, bytes.Clone(sc.Bytes()))
		}
	}
	return out
}

// mapBoth decodes data as a logs and as a metrics request with decode and
// maps whatever decodes, rendering the messages.
func mapBoth(t *testing.T, data []byte, decode func([]byte, proto.Message) error) (logs, metrics *[]byte, lreq *collogspb.ExportLogsServiceRequest, mreq *colmetricspb.ExportMetricsServiceRequest) {
	lreq = &collogspb.ExportLogsServiceRequest{}
	if decode(data, lreq) == nil {
		r := render(testInput(t).logMessages(lreq.ResourceLogs))
		logs = &r
	} else {
		lreq = nil
	}
	mreq = &colmetricspb.ExportMetricsServiceRequest{}
	if decode(data, mreq) == nil {
		r := render(testInput(t).metricMessages(mreq.ResourceMetrics).msgs)
		metrics = &r
	} else {
		mreq = nil
	}
	return
}

// FuzzJSON decodes OTLP/JSON and maps it; what decodes must map without
// panicking, and survive MarshalJSON → UnmarshalJSON and protobuf
// encoding unchanged, mapping to the same messages.
func FuzzJSON(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		logs, metrics, lreq, mreq := mapBoth(t, data, UnmarshalJSON)
		type decoded struct {
			req  proto.Message
			got  *[]byte
			kind string
		}
		var cases []decoded
		if lreq != nil {
			cases = append(cases, decoded{lreq, logs, "logs"})
		}
		if mreq != nil {
			cases = append(cases, decoded{mreq, metrics, "metrics"})
		}
		for _, c := range cases {
			j, err := MarshalJSON(c.req)
			if err != nil {
				t.Fatalf("%s: MarshalJSON: %v", c.kind, err)
			}
			again := c.req.ProtoReflect().New().Interface()
			if err := UnmarshalJSON(j, again); err != nil {
				t.Fatalf("%s: MarshalJSON wrote what UnmarshalJSON refuses: %v\n%s", c.kind, err, j)
			}
			if !proto.Equal(c.req, again) {
				t.Fatalf("%s: JSON round trip changed the request\n%v\n%v", c.kind, c.req, again)
			}
			b, err := proto.Marshal(c.req)
			if err != nil {
				continue // invalid UTF-8 that JSON let through as U+FFFD cannot happen; anything else proto refuses is fine
			}
			l2, m2, _, _ := mapBoth(t, b, proto.Unmarshal)
			again2 := l2
			if c.kind == "metrics" {
				again2 = m2
			}
			if again2 == nil || !bytes.Equal(*again2, *c.got) {
				t.Fatalf("%s: protobuf round trip maps differently", c.kind)
			}
		}
	})
}

// FuzzProtobuf decodes binary OTLP and maps it: never a panic.
func FuzzProtobuf(f *testing.F) {
	for _, s := range seeds(f) {
		for _, m := range []proto.Message{&collogspb.ExportLogsServiceRequest{}, &colmetricspb.ExportMetricsServiceRequest{}} {
			if UnmarshalJSON(s, m) == nil {
				b, _ := proto.Marshal(m)
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mapBoth(t, data, proto.Unmarshal)
	})
}
