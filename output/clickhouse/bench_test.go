package clickhouse

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output/clickhouse/clickhousetest"
)

// benchBatch is a batch of typical messages: log lines with a few fields,
// counters and timers.
func benchBatch(n int) []*metlog.Message {
	base := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	out := make([]*metlog.Message, n)
	for i := range out {
		ts := base.Add(time.Duration(i) * time.Millisecond)
		m := &metlog.Message{UUID: metlog.NewUUIDAt(ts), Timestamp: ts.UnixNano(), Logger: "web.api", Severity: 6,
			EnvVersion: "0.8", Pid: 4242, Hostname: "web-1.example.com"}
		switch i % 3 {
		case 0:
			m.Type = "oldstyle"
			m.Payload = fmt.Sprintf("GET /api/users/%d served in %d ms", i, i%97)
			m.Fields = []metlog.Field{metlog.Int("status", 200), metlog.String("headers.path", "/api/users"),
				metlog.String("headers.user_agent", "curl/8.5.0"), metlog.Bool("cached", i%2 == 0)}
		case 1:
			m.Type = "counter"
			m.Payload = "1"
			m.Fields = []metlog.Field{metlog.String("name", "http.requests"), metlog.Float("rate", 1)}
		default:
			m.Type = "timer"
			m.Payload = strconv.Itoa(i % 250)
			m.Fields = []metlog.Field{metlog.String("name", "db.query"), metlog.Float("rate", 1)}
		}
		out[i] = m
	}
	return out
}

// appendJSONRow appends m as a JSONEachRow row of Columns, for comparison
// only: JSON cannot carry the raw bytes of uuid and fields_proto, so they
// are written as hex of the same length.
func appendJSONRow(dst []byte, m *metlog.Message, js, proto []byte) []byte {
	row := map[string]any{
		"time": time.Unix(m.Timestamp/1e9, 0).UTC().Format("2006-01-02 15:04:05"), "timestamp": m.Timestamp,
		"uuid": hex.EncodeToString(m.UUID[:8]), "type": m.Type, "logger": m.Logger, "severity": int32(m.Severity),
		"payload": m.Payload, "env_version": m.EnvVersion, "pid": m.Pid, "hostname": m.Hostname, "fields": string(js),
		"fields_proto": hex.EncodeToString(proto),
	}
	sk, sv, ik, fk, bk := []string{}, []string{}, []string{}, []string{}, []string{}
	iv, fv, bv := []int64{}, []float64{}, []int{}
	for _, f := range m.Fields {
		switch f.Type {
		case metlog.TypeString:
			for _, s := range f.Strings {
				sk, sv = append(sk, f.Name), append(sv, s)
			}
		case metlog.TypeInteger:
			for _, v := range f.Integers {
				ik, iv = append(ik, f.Name), append(iv, v)
			}
		case metlog.TypeDouble:
			for _, v := range f.Doubles {
				fk, fv = append(fk, f.Name), append(fv, v)
			}
		case metlog.TypeBool:
			for _, v := range f.Bools {
				b := 0
				if v {
					b = 1
				}
				bk, bv = append(bk, f.Name), append(bv, b)
			}
		}
	}
	row["string_keys"], row["string_values"], row["int_keys"], row["int_values"] = sk, sv, ik, iv
	row["float_keys"], row["float_values"], row["bool_keys"], row["bool_values"] = fk, fv, bk, bv
	if name, ok := fieldString(m, "name"); ok {
		row["name"] = name
	}
	b, _ := json.Marshal(row)
	return append(append(dst, b...), '\n')
}

func BenchmarkEncode(b *testing.B) {
	batch := benchBatch(1000)
	b.Run("RowBinary", func(b *testing.B) {
		var enc rowEncoder
		var buf []byte
		b.ReportAllocs()
		for range b.N {
			buf = buf[:0]
			for _, m := range batch {
				buf = enc.appendRow(buf, m)
			}
		}
		b.SetBytes(int64(len(buf)))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/msg")
	})
	b.Run("JSONEachRow", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for range b.N {
			buf = buf[:0]
			for _, m := range batch {
				buf = appendJSONRow(buf, m, AppendFieldsJSON(nil, m.Fields), AppendFieldsProto(nil, m.Fields))
			}
		}
		b.SetBytes(int64(len(buf)))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/msg")
	})
}

// BenchmarkGzip is the client's side of gzip=true: compressing a batch of
// 1000 rows.
func BenchmarkGzip(b *testing.B) {
	o, err := New(Defaults(), quiet)
	if err != nil {
		b.Fatal(err)
	}
	var rows []byte
	for _, m := range benchBatch(1000) {
		rows = o.enc.appendRow(rows, m)
	}
	b.SetBytes(int64(len(rows)))
	b.ReportAllocs()
	for range b.N {
		o.zbuf.Reset()
		o.zw.Reset(&o.zbuf)
		o.zw.Write(rows)
		o.zw.Close()
	}
	b.ReportMetric(float64(len(rows))/float64(o.zbuf.Len()), "ratio")
}

// BenchmarkInsert writes batches of 1000 messages to a real
// clickhouse-server: the output (RowBinary, gzip on and off) and, for
// comparison, the same rows as JSONEachRow.
func BenchmarkInsert(b *testing.B) {
	srv := clickhousetest.Start(b)
	batch := benchBatch(1000)
	ctx := context.Background()
	for _, gz := range []bool{true, false} {
		b.Run(fmt.Sprintf("RowBinary/gzip=%v", gz), func(b *testing.B) {
			cfg := Defaults()
			cfg.URL, cfg.Gzip, cfg.Table, cfg.MinInterval = srv.URL, gz, fmt.Sprintf("bench_rowbinary_%v", gz), 0
			o, err := New(cfg, quiet)
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			b.ReportAllocs()
			for range b.N {
				if err := o.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "msgs/s")
		})
	}
	b.Run("JSONEachRow", func(b *testing.B) {
		cfg := Defaults()
		cfg.URL, cfg.Table = srv.URL, "bench_json"
		o, err := New(cfg, quiet)
		if err != nil {
			b.Fatal(err)
		}
		defer o.Close()
		if err := o.ensureTable(ctx); err != nil {
			b.Fatal(err)
		}
		insert := "INSERT INTO `default`.`bench_json` FORMAT JSONEachRow"
		b.ReportAllocs()
		for range b.N {
			var buf []byte
			for _, m := range batch {
				buf = appendJSONRow(buf, m, AppendFieldsJSON(nil, m.Fields), AppendFieldsProto(nil, m.Fields))
			}
			if err := o.client.Exec(ctx, insert, bytes.NewReader(buf), false); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "msgs/s")
	})
}
