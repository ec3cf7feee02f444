package otlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// idKeys are the OTLP/JSON keys whose values are trace and span IDs,
// written as hex where the protobuf JSON mapping would have base64.
var idKeys = map[string]bool{
	"traceId": true, "spanId": true, "parentSpanId": true,
	"trace_id": true, "span_id": true, "parent_span_id": true,
}

// UnmarshalJSON decodes OTLP/JSON into m: the protobuf JSON mapping with
// lowerCamelCase (or original) field names, enums as numbers or names,
// 64-bit integers as strings or numbers, unknown fields ignored, and trace
// and span IDs as hex strings.
func UnmarshalJSON(data []byte, m proto.Message) error {
	opts := protojson.UnmarshalOptions{DiscardUnknown: true}
	if !bytes.Contains(data, []byte("Id\"")) && !bytes.Contains(data, []byte("_id\"")) {
		return opts.Unmarshal(data, m)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	if err := hexIDsToBase64(v, 0); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return opts.Unmarshal(b, m)
}

func hexIDsToBase64(v any, depth int) error {
	if depth > 100 {
		return errors.New("JSON nested too deeply")
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && idKeys[k] {
				b, err := hex.DecodeString(s)
				if err != nil {
					return errors.New(k + ": want hex digits")
				}
				x[k] = base64.StdEncoding.EncodeToString(b)
				continue
			}
			if err := hexIDsToBase64(e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := hexIDsToBase64(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// MarshalJSON encodes m as OTLP/JSON: lowerCamelCase names, enums as
// numbers, and trace and span IDs as hex.
func MarshalJSON(m proto.Message) ([]byte, error) {
	b, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(m)
	if err != nil || (!bytes.Contains(b, []byte("Id\""))) {
		return b, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	base64IDsToHex(v)
	return json.Marshal(v)
}

func base64IDsToHex(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && idKeys[k] {
				if b, err := base64.StdEncoding.DecodeString(s); err == nil {
					x[k] = hex.EncodeToString(b)
				}
				continue
			}
			base64IDsToHex(e)
		}
	case []any:
		for _, e := range x {
			base64IDsToHex(e)
		}
	}
}
