package output

import (
	"fmt"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

// Format encodes messages for an output. Append appends m's encoding to dst
// and returns the extended slice; a message the format cannot carry (a Heka
// record over the size limit) is an error and dst is returned unchanged.
type Format interface {
	Append(dst []byte, m *metlog.Message) ([]byte, error)
}

// RecordFormat is a Format that can also encode a journal record, a Heka
// protobuf Message, without it being decoded into a message first.
// AppendRecord appends the encoding of the message in record to dst, the
// same bytes as Append of the message heka.Unmarshal makes of it; it
// returns false, with dst unchanged, for a record it does not encode
// directly: decode that one and call Append.
type RecordFormat interface {
	Format
	AppendRecord(dst, record []byte) ([]byte, bool)
}

// Formats are the names NewFormat accepts.
var Formats = []string{"text", "metlog-json", "heka"}

// NewFormat returns the format called name: "text" (with template, see
// Text), "metlog-json" (one object per line, as metlog-py writes them) or
// "heka" (Heka stream records, unsigned).
func NewFormat(name, template string) (Format, error) {
	switch name {
	case "text":
		t, err := ParseText(template)
		if err != nil {
			return nil, err
		}
		return textFormat{t}, nil
	case "metlog-json", "json":
		return jsonFormat{}, nil
	case "heka":
		return hekaFormat{}, nil
	}
	return nil, fmt.Errorf("format %q: want one of \"text\", \"metlog-json\", \"heka\"", name)
}

type textFormat struct{ t *Text }

func (f textFormat) Append(dst []byte, m *metlog.Message) ([]byte, error) {
	return f.t.Append(dst, m), nil
}

type jsonFormat struct{}

func (jsonFormat) Append(dst []byte, m *metlog.Message) ([]byte, error) {
	return append(m.AppendJSON(dst), '\n'), nil
}

func (jsonFormat) AppendRecord(dst, record []byte) ([]byte, bool) {
	dst, ok := metlog.AppendJSONProtobuf(dst, record)
	if !ok {
		return dst, false
	}
	return append(dst, '\n'), true
}

// NewRecordEncoder returns an encoder of records in f for one goroutine:
// f itself, or for metlog JSON an encoder that writes a record like the
// one before it by comparison (metlog.JSONProtobufEncoder).
func NewRecordEncoder(f RecordFormat) RecordFormat {
	if _, ok := f.(jsonFormat); ok {
		return &jsonRecordEncoder{}
	}
	return f
}

// jsonRecordEncoder is metlog JSON with a metlog.JSONProtobufEncoder.
type jsonRecordEncoder struct {
	jsonFormat
	enc metlog.JSONProtobufEncoder
}

func (j *jsonRecordEncoder) AppendRecord(dst, record []byte) ([]byte, bool) {
	dst, ok := j.enc.Append(dst, record)
	if !ok {
		return dst, false
	}
	return append(dst, '\n'), true
}

type hekaFormat struct{}

func (hekaFormat) Append(dst []byte, m *metlog.Message) ([]byte, error) {
	out, err := heka.AppendRecord(dst, m, nil)
	if err != nil {
		return dst, err
	}
	return out, nil
}
