package stdout

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/metlog/metlog"
)

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	o, err := NewWriter(Config{Format: "text", Template: "{type}:{payload}"}, slog.New(slog.NewTextHandler(io.Discard, nil)), &buf)
	if err != nil {
		t.Fatal(err)
	}
	o.Write(context.Background(), []*metlog.Message{{Type: "a", Payload: "1"}, {Type: "b", Payload: "2"}})
	if buf.String() != "a:1\nb:2\n" {
		t.Errorf("got %q", buf.String())
	}
	if _, err := New(Config{Format: "yaml"}, nil); err == nil {
		t.Error("bad format accepted")
	}
}
