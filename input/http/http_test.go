package http

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input/inputtest"
)

func serve(t *testing.T, cfg Config) (*Input, *inputtest.Sink, *httptest.Server) {
	t.Helper()
	in, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	sink := &inputtest.Sink{}
	mux := http.NewServeMux()
	mux.Handle(in.Pattern(), in.Handler(sink))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return in, sink, srv
}

func post(t *testing.T, url, ctype, encoding string, body []byte) (int, response) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/messages", bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	return resp.StatusCode, r
}

func TestJSONLinesGzip(t *testing.T) {
	_, sink, srv := serve(t, Defaults())
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, `{"type": "a"}`+"\n"+`{"type": "b"}`+"\n")
	zw.Close()
	code, r := post(t, srv.URL, "application/x-ndjson", "gzip", buf.Bytes())
	if code != 200 || r.Accepted != 2 {
		t.Fatalf("%d %+v", code, r)
	}
	msgs := sink.Messages()
	if len(msgs) != 2 || msgs[1].Type != "b" || !sink.Options()[0].Durable {
		t.Errorf("got %+v", msgs)
	}
}

func TestHekaStream(t *testing.T) {
	_, sink, srv := serve(t, Defaults())
	var body []byte
	for _, typ := range []string{"x", "y"} {
		body, _ = heka.AppendRecord(body, &metlog.Message{Type: typ}, nil)
	}
	code, r := post(t, srv.URL, "application/x-heka-stream", "", body)
	if code != 200 || r.Accepted != 2 || len(sink.Messages()) != 2 {
		t.Fatalf("%d %+v", code, r)
	}
	// Without a Content-Type, the first byte tells.
	code, _ = post(t, srv.URL, "", "", body)
	if code != 200 || len(sink.Messages()) != 4 {
		t.Fatalf("%d", code)
	}
}

func TestPartialReject(t *testing.T) {
	in, sink, srv := serve(t, Defaults())
	code, r := post(t, srv.URL, "application/x-ndjson", "", []byte(`{"type": "ok"}`+"\n"+`{"type": `+"\n"+`{"type": "ok2"}`+"\n"))
	if code != 400 || r.Accepted != 2 || r.Rejected != 1 || len(r.Errors) != 1 || r.Errors[0].Index != 1 {
		t.Fatalf("%d %+v", code, r)
	}
	if len(sink.Messages()) != 2 {
		t.Errorf("stored %d", len(sink.Messages()))
	}
	if in.Counters().Snapshot().Rejected["malformed"] != 1 {
		t.Error("reject not counted")
	}
}

func TestLimitsAndErrors(t *testing.T) {
	cfg := Defaults()
	cfg.MaxBodySize = 100
	_, _, srv := serve(t, cfg)
	for _, tc := range []struct {
		ctype, enc string
		body       []byte
		code       int
		msg        string
	}{
		{"application/x-ndjson", "", []byte(strings.Repeat(" ", 200)), 413, "body over 100 bytes"},
		{"application/x-ndjson", "br", []byte(`{}`), 415, "Content-Encoding"},
		{"image/png", "", []byte(`{}`), 415, "Content-Type"},
		{"application/x-ndjson", "gzip", []byte("not gzip"), 400, "gzip"},
	} {
		code, r := post(t, srv.URL, tc.ctype, tc.enc, tc.body)
		if code != tc.code || !strings.Contains(r.Error, tc.msg) {
			t.Errorf("%s %s: %d %q, want %d %q", tc.ctype, tc.enc, code, r.Error, tc.code, tc.msg)
		}
	}
	// A gzip bomb is cut at the limit.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bytes.Repeat([]byte(" "), 10000))
	zw.Close()
	if code, _ := post(t, srv.URL, "application/x-ndjson", "gzip", buf.Bytes()); code != 413 {
		t.Errorf("gzip bomb: %d", code)
	}
}

// A body trickled slower than body_timeout allows is cut off with 408,
// and the connection is closed.
func TestBodyTimeout(t *testing.T) {
	cfg := Defaults()
	cfg.BodyTimeout = config.Duration(200 * time.Millisecond)
	in, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(in.Handler(&inputtest.Sink{}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", cfg.Path)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %s, want 408", resp.Status)
	}
}
