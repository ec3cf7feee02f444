package statsd

import (
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

// FuzzAccumulator adds arbitrary metric messages and checks every flush:
// lines and fields agree, names hold only what statsd keeps, messages
// stay within their size, and every message is counted once.
func FuzzAccumulator(f *testing.F) {
	data, err := os.ReadFile("testdata/stream.txt")
	if err != nil {
		f.Fatal(err)
	}
	types := map[string]string{"c": "counter", "ms": "timer", "g": "gauge", "s": "set"}
	for _, l := range strings.Split(string(data), "\n") {
		name, rest, ok := strings.Cut(l, ":")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		sections := strings.Split(rest, "|")
		rate, tags := 1.0, ""
		for _, s := range sections[2:] {
			if strings.HasPrefix(s, "@") {
				rate, _ = strconv.ParseFloat(s[1:], 64)
			} else {
				tags = strings.TrimPrefix(s, "#")
			}
		}
		f.Add(types[sections[1]], name, sections[0], rate, tags)
	}
	f.Add("timer", "a b/c\x00é", "1e308", 1e-300, "k:v;w,;:,=")
	f.Add("gauge", strings.Repeat("n", MaxNameLen), "-1e308", 0.0, "")

	f.Fuzz(func(t *testing.T, typ, name, payload string, rate float64, tags string) {
		a := newAcc(t, func(c *Config) {
			c.MaxNames = 8
			c.MaxMessageSize = minMessageSize
			c.Percentiles = []float64{90, -90, 0.5}
			c.Histogram = []Histogram{{Metric: "", Bins: []float64{1, 10, math.Inf(1)}}}
			c.GlobalSuffix = "host"
		})
		m := &metlog.Message{Type: typ, Payload: payload, Fields: []metlog.Field{metlog.String("name", name), metlog.Float("rate", rate)}}
		for _, tag := range strings.Split(tags, ",") {
			if tag != "" {
				k, v, _ := strings.Cut(tag, ":")
				m.Fields = append(m.Fields, metlog.String(k, v))
			}
		}
		a.Add(m)
		m.Fields[0].Strings[0] = name + "2"
		a.Add(m)
		st := a.Stats()
		if metricType := typ == "counter" || typ == "timer" || typ == "gauge" || typ == "set"; metricType {
			if st.Added+st.Bad+st.Dropped != 2 || st.Ignored != 0 {
				t.Fatalf("stats %+v", st)
			}
		} else if st.Ignored != 2 || st.Added+st.Bad+st.Dropped != 0 {
			t.Fatalf("stats %+v", st)
		}
		for range 3 {
			metrics := 0
			a.Flush(flushTime, func(m *metlog.Message) {
				checkMessage(t, a, m, flushTime)
				for i := range m.Fields {
					name := m.Fields[i].Name
					for j := 0; j < len(name); j++ {
						if !keyByte(name[j]) {
							t.Fatalf("name %q", name)
						}
					}
				}
				metrics += len(m.Fields)
				c := m.Clone()
				c.UUID = metlog.NewUUID()
				c.AddField(metlog.String("derived_by", "statsd"))
				size := c.ProtobufSize()
				if len(m.Fields) > 1 && size > minMessageSize || size > heka.MaxMessageSize {
					t.Fatalf("%d fields, %d bytes", len(m.Fields), size)
				}
			})
			if metrics < 6 { // numStats, processing_time, two own counters
				t.Fatalf("%d metrics", metrics)
			}
		}
	})
}
