package clickhouse

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/metlog/metlog"
)

// Columns is the table's column list, in the order RowBinary rows carry
// them, with the ClickHouse type of each. Every type is one that ClickHouse
// 18.16 accepts as well as current servers.
var Columns = []Column{
	{"time", "DateTime", "the message time in whole seconds (UTC), for partitioning"},
	{"timestamp", "Int64", "the message time in nanoseconds since the epoch"},
	{"uuid", "FixedString(16)", "the message UUID, 16 raw bytes"},
	{"type", "String", "Type"},
	{"logger", "String", "Logger"},
	{"severity", "Int32", "Severity, syslog 0 (emergency) to 7 (debug)"},
	{"payload", "String", "Payload"},
	{"env_version", "String", "EnvVersion"},
	{"pid", "Int32", "Pid"},
	{"hostname", "String", "Hostname"},
	{"name", "Nullable(String)", "the first value of the first field called \"name\" when it is a string or bytes (a metric's name), else NULL"},
	{"fields", "String", "the fields as a metlog JSON object, for JSONExtract and humans"},
	{"string_keys", "Array(String)", "the name of each string or bytes field value"},
	{"string_values", "Array(String)", "the string and bytes values, one per element of the field"},
	{"int_keys", "Array(String)", "the name of each integer field value"},
	{"int_values", "Array(Int64)", "the integer values"},
	{"float_keys", "Array(String)", "the name of each double field value"},
	{"float_values", "Array(Float64)", "the double values"},
	{"bool_keys", "Array(String)", "the name of each bool field value"},
	{"bool_values", "Array(UInt8)", "the bool values, 0 or 1"},
	{"fields_proto", "String", "the fields in Heka protobuf encoding (types, order and representations), for exact reading back"},
}

// Column is one column of the table.
type Column struct {
	Name string
	Type string
	// Doc says what the column holds.
	Doc string
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validIdent reports whether s can name a database or table without
// quoting trouble.
func validIdent(s string) bool { return identRE.MatchString(s) }

// CreateTable returns the CREATE TABLE statement of the table db.table.
//
// The engine is ReplacingMergeTree keyed on (type, time, uuid): a message
// delivered twice (the router delivers at least once) has the same key
// both times, so ClickHouse keeps one copy once the parts holding both are
// merged. Until then a query sees both copies, which is why readers dedupe
// by uuid (LIMIT 1 BY uuid, uniqExact(uuid), or FINAL). Partitions are
// days, so old data is dropped a day at a time with ALTER TABLE … DROP
// PARTITION.
func CreateTable(db, table string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS `%s`.`%s` (\n", db, table)
	for i, c := range Columns {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "    `%s` %s", c.Name, c.Type)
	}
	b.WriteString("\n) ENGINE = ReplacingMergeTree()\nPARTITION BY toYYYYMMDD(time)\nORDER BY (type, time, uuid)\nSETTINGS index_granularity = 8192")
	return b.String()
}

// columnList is the column list of an INSERT.
func columnList() string {
	names := make([]string, len(Columns))
	for i, c := range Columns {
		names[i] = "`" + c.Name + "`"
	}
	return strings.Join(names, ", ")
}

// rowEncoder appends messages as RowBinary rows of Columns. Its scratch
// buffers are reused from row to row.
type rowEncoder struct {
	json  []byte
	proto []byte
	shell metlog.Message // holds the fields being encoded, headers zero
}

// appendRow appends m as one RowBinary row. A message without a UUID gets
// a new one, as the embedded store gives it.
func (e *rowEncoder) appendRow(dst []byte, m *metlog.Message) []byte {
	uuid := m.UUID
	if uuid.IsZero() {
		uuid = metlog.NewUUID()
	}
	secs := m.Timestamp / 1e9
	if m.Timestamp < 0 && m.Timestamp%1e9 != 0 {
		secs--
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(max(0, min(secs, math.MaxUint32))))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(m.Timestamp))
	dst = append(dst, uuid[:]...)
	dst = appendString(dst, m.Type)
	dst = appendString(dst, m.Logger)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(m.Severity))
	dst = appendString(dst, m.Payload)
	dst = appendString(dst, m.EnvVersion)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(m.Pid))
	dst = appendString(dst, m.Hostname)
	if name, ok := fieldString(m, "name"); ok {
		dst = appendString(append(dst, 0), name)
	} else {
		dst = append(dst, 1) // NULL
	}
	e.shell.Fields = m.Fields
	defer func() { e.shell.Fields = nil }()
	e.json = appendFieldsJSON(e.json[:0], &e.shell)
	dst = appendBytes(dst, e.json)

	var ns, ni, nf, nb int
	for i := range m.Fields {
		f := &m.Fields[i]
		switch f.Type {
		case metlog.TypeString:
			ns += len(f.Strings)
		case metlog.TypeBytes:
			ns += len(f.Bytes)
		case metlog.TypeInteger:
			ni += len(f.Integers)
		case metlog.TypeDouble:
			nf += len(f.Doubles)
		case metlog.TypeBool:
			nb += len(f.Bools)
		}
	}
	dst = appendKeys(dst, m.Fields, metlog.TypeString, metlog.TypeBytes, ns)
	dst = binary.AppendUvarint(dst, uint64(ns))
	for i := range m.Fields {
		f := &m.Fields[i]
		switch f.Type {
		case metlog.TypeString:
			for _, s := range f.Strings {
				dst = appendString(dst, s)
			}
		case metlog.TypeBytes:
			for _, b := range f.Bytes {
				dst = appendBytes(dst, b)
			}
		}
	}
	dst = appendKeys(dst, m.Fields, metlog.TypeInteger, metlog.TypeInteger, ni)
	dst = binary.AppendUvarint(dst, uint64(ni))
	for i := range m.Fields {
		if f := &m.Fields[i]; f.Type == metlog.TypeInteger {
			for _, v := range f.Integers {
				dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
			}
		}
	}
	dst = appendKeys(dst, m.Fields, metlog.TypeDouble, metlog.TypeDouble, nf)
	dst = binary.AppendUvarint(dst, uint64(nf))
	for i := range m.Fields {
		if f := &m.Fields[i]; f.Type == metlog.TypeDouble {
			for _, v := range f.Doubles {
				dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
			}
		}
	}
	dst = appendKeys(dst, m.Fields, metlog.TypeBool, metlog.TypeBool, nb)
	dst = binary.AppendUvarint(dst, uint64(nb))
	for i := range m.Fields {
		if f := &m.Fields[i]; f.Type == metlog.TypeBool {
			for _, v := range f.Bools {
				b := byte(0)
				if v {
					b = 1
				}
				dst = append(dst, b)
			}
		}
	}
	e.proto = e.shell.AppendProtobuf(e.proto[:0])
	return appendBytes(dst, e.proto)
}

// appendKeys appends the Array(String) of field names, one per value, of
// the fields of type t1 or t2; n is the number of values.
func appendKeys(dst []byte, fields []metlog.Field, t1, t2 metlog.ValueType, n int) []byte {
	dst = binary.AppendUvarint(dst, uint64(n))
	for i := range fields {
		f := &fields[i]
		if f.Type != t1 && f.Type != t2 {
			continue
		}
		for range f.Len() {
			dst = appendString(dst, f.Name)
		}
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// fieldsJSONHead and fieldsJSONTail surround the fields object in the
// metlog JSON of a message whose headers are all zero.
const (
	fieldsJSONHead = `{"severity": 0, "timestamp": "1970-01-01T00:00:00.000000Z", "metlog_hostname": "", "fields": `
	fieldsJSONTail = `, "metlog_pid": 0, "logger": "", "type": "", "payload": "", "env_version": ""`
)

// AppendFieldsJSON appends fields as the "fields" object of metlog JSON
// (see metlog.Message.AppendJSON: dotted names nested, raw JSON fields
// inline, bytes as base64), without spaces so that ClickHouse's
// visitParamExtract* functions read it, and returns the extended buffer.
func AppendFieldsJSON(dst []byte, fields []metlog.Field) []byte {
	return appendFieldsJSON(dst, &metlog.Message{Fields: fields})
}

// appendFieldsJSON is AppendFieldsJSON of the fields of m, whose headers
// are all zero.
func appendFieldsJSON(dst []byte, m *metlog.Message) []byte {
	n := len(dst)
	dst = m.AppendJSON(dst)
	js := dst[n:]
	end := bytes.LastIndex(js, []byte(fieldsJSONTail))
	if !bytes.HasPrefix(js, []byte(fieldsJSONHead)) || end < 0 {
		// Not reached: the envelope of a zero message is fixed.
		return append(dst[:n], "{}"...)
	}
	// Drop the spaces AppendJSON writes after ':' and ',' outside
	// strings, moving the object to the front as it goes.
	w := n
	in, esc := false, false
	for _, c := range js[len(fieldsJSONHead):end] {
		switch {
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && c == ' ':
			continue
		}
		dst[w] = c
		w++
	}
	return dst[:w]
}

// AppendFieldsProto appends fields in Heka protobuf encoding: a Message
// with zero headers and these fields, which codec/heka.Unmarshal reads
// back.
func AppendFieldsProto(dst []byte, fields []metlog.Field) []byte {
	m := metlog.Message{Fields: fields}
	return m.AppendProtobuf(dst)
}

// fieldString returns the first value of the first field called name, when
// it is a string or bytes.
func fieldString(m *metlog.Message, name string) (string, bool) {
	f := m.Field(name)
	if f == nil {
		return "", false
	}
	switch {
	case f.Type == metlog.TypeString && len(f.Strings) > 0:
		return f.Strings[0], true
	case f.Type == metlog.TypeBytes && len(f.Bytes) > 0:
		return string(f.Bytes[0]), true
	}
	return "", false
}
