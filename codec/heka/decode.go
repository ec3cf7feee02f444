package heka

import (
	"math"

	"github.com/metlog/metlog"
)

// Unmarshal decodes a Heka protobuf Message from data into m, replacing
// everything m held but reusing the backing array of m.Fields.
//
// It reads what Heka's decoder reads: unknown fields are skipped; integer,
// double and bool values are accepted packed or unpacked; severity and pid
// are accepted as 5-byte (Heka) or 10-byte (standard protobuf) varints and
// truncated to 32 bits; an absent severity is Debug (7), as Heka's
// GetSeverity reports it; absent uuid, timestamp and strings are zero. A
// uuid of other than 16 bytes is stored as Heka's SetUuid stores it: copied
// into the 16 bytes, zero-padded when short, cut when long. Strings are not
// checked for UTF-8. Values in a slice other than the one a field's
// value_type selects are dropped.
//
// The strings of m share one allocation that holds a copy of data, and the
// byte values share another; none of them alias data, which the caller may
// reuse at once. Clone a string with strings.Clone to keep it without
// keeping the whole message's memory alive.
//
// Malformed input yields a *SyntaxError wrapping one of the Err* sentinels;
// m is then partly filled and should be discarded. Unmarshal never panics.
func Unmarshal(data []byte, m *metlog.Message) error {
	clear(m.Fields)
	fields := m.Fields[:0]
	*m = metlog.Message{Severity: metlog.Debug}
	d := decoder{w: wire{b: data}, data: data}
	defer func() { m.Fields = fields }()
	for d.w.more() {
		tagOff := d.w.off
		num, typ, err := d.w.tag()
		if err != nil {
			return &SyntaxError{In: "Message", Offset: tagOff, Err: err}
		}
		valOff := d.w.off
		if err := d.messageField(m, &fields, num, typ); err != nil {
			if se, ok := err.(*SyntaxError); ok {
				return se
			}
			return &SyntaxError{In: "Message", Offset: valOff, Field: num, Err: err}
		}
	}
	return nil
}

// decoder holds the per-message state of Unmarshal: the shared string and
// byte copies of the input, and arenas that the value slices of all fields
// are cut from.
type decoder struct {
	w     wire   // reads the Message
	data  []byte // the whole message
	s     string // string(data), made on first use
	b     []byte // a copy of data for bytes values, made on first use
	strs  []string
	byts  [][]byte
	ints  []int64
	dbls  []float64
	bools []bool
}

// str returns data[start:end] as a string cut from one shared copy.
func (d *decoder) str(start, end int) string {
	if start == end {
		return ""
	}
	if d.s == "" {
		d.s = string(d.data)
	}
	return d.s[start:end]
}

// bytesAt returns a copy of data[start:end] cut from one shared copy, with
// its capacity capped so that appending to it cannot touch its neighbours.
func (d *decoder) bytesAt(start, end int) []byte {
	if d.b == nil {
		d.b = append([]byte(nil), d.data...)
	}
	return d.b[start:end:end]
}

func expect(typ, want int) error {
	if typ != want {
		return ErrWireType
	}
	return nil
}

// messageField decodes the value of Message field num.
func (d *decoder) messageField(m *metlog.Message, fields *[]metlog.Field, num, typ int) error {
	w := &d.w
	switch num {
	case 1, 3, 4, 6, 7, 9, 10: // length-delimited
		if err := expect(typ, wireBytes); err != nil {
			return err
		}
		start, end, err := w.bytes()
		if err != nil {
			return err
		}
		switch num {
		case 1:
			m.UUID = metlog.UUID{}
			copy(m.UUID[:], w.b[start:end])
		case 3:
			m.Type = d.str(start, end)
		case 4:
			m.Logger = d.str(start, end)
		case 6:
			m.Payload = d.str(start, end)
		case 7:
			m.EnvVersion = d.str(start, end)
		case 9:
			m.Hostname = d.str(start, end)
		case 10:
			*fields = append(*fields, metlog.Field{})
			return d.field(&(*fields)[len(*fields)-1], start, end)
		}
	case 2, 5, 8: // varints
		if err := expect(typ, wireVarint); err != nil {
			return err
		}
		v, err := w.uvarint()
		if err != nil {
			return err
		}
		switch num {
		case 2:
			m.Timestamp = int64(v)
		case 5:
			m.Severity = metlog.Severity(int32(v))
		case 8:
			m.Pid = int32(v)
		}
	default:
		return w.skip(typ)
	}
	return nil
}

// field decodes the Field message in w.b[start:end] into the zero Field f.
func (d *decoder) field(f *metlog.Field, start, end int) error {
	w := &wire{b: d.data[:end], off: start}

	s0, b0, i0, f0, o0 := len(d.strs), len(d.byts), len(d.ints), len(d.dbls), len(d.bools)
	for w.more() {
		tagOff := w.off
		num, typ, err := w.tag()
		if err != nil {
			return &SyntaxError{In: "Field", Offset: tagOff, Err: err}
		}
		valOff := w.off
		if err := d.fieldValue(w, f, num, typ); err != nil {
			return &SyntaxError{In: "Field", Offset: valOff, Field: num, Err: err}
		}
	}

	// Keep the values the value type selects, each slice capped so that
	// appending to one field's values cannot overwrite another's.
	switch f.Type {
	case metlog.TypeString:
		if n := len(d.strs); n > s0 {
			f.Strings = d.strs[s0:n:n]
		}
	case metlog.TypeBytes:
		if n := len(d.byts); n > b0 {
			f.Bytes = d.byts[b0:n:n]
		}
	case metlog.TypeInteger:
		if n := len(d.ints); n > i0 {
			f.Integers = d.ints[i0:n:n]
		}
	case metlog.TypeDouble:
		if n := len(d.dbls); n > f0 {
			f.Doubles = d.dbls[f0:n:n]
		}
	case metlog.TypeBool:
		if n := len(d.bools); n > o0 {
			f.Bools = d.bools[o0:n:n]
		}
	}
	// Drop values of the other types; the arenas' unused tails are reused.
	if f.Type != metlog.TypeString {
		d.strs = d.strs[:s0]
	}
	if f.Type != metlog.TypeBytes {
		d.byts = d.byts[:b0]
	}
	if f.Type != metlog.TypeInteger {
		d.ints = d.ints[:i0]
	}
	if f.Type != metlog.TypeDouble {
		d.dbls = d.dbls[:f0]
	}
	if f.Type != metlog.TypeBool {
		d.bools = d.bools[:o0]
	}
	return nil
}

// fieldValue decodes the value of Field field num from w into f or the
// arenas.
func (d *decoder) fieldValue(w *wire, f *metlog.Field, num, typ int) error {
	switch num {
	case 1, 3, 4, 5: // name, representation, value_string, value_bytes
		if err := expect(typ, wireBytes); err != nil {
			return err
		}
		start, end, err := w.bytes()
		if err != nil {
			return err
		}
		switch num {
		case 1:
			f.Name = d.str(start, end)
		case 3:
			f.Representation = d.str(start, end)
		case 4:
			d.strs = appendArena(d.strs, d.str(start, end), 8)
		case 5:
			d.byts = appendArena(d.byts, d.bytesAt(start, end), 4)
		}
	case 2: // value_type
		if err := expect(typ, wireVarint); err != nil {
			return err
		}
		v, err := w.uvarint()
		if err != nil {
			return err
		}
		if v > uint64(metlog.TypeBool) {
			return ErrValueType
		}
		f.Type = metlog.ValueType(v)
	case 6, 8: // value_integer, value_bool: varints, packed or not
		switch typ {
		case wireVarint:
			v, err := w.uvarint()
			if err != nil {
				return err
			}
			d.addVarint(num, v)
		case wireBytes:
			start, end, err := w.bytes()
			if err != nil {
				return err
			}
			p := wire{b: w.b[:end], off: start}
			for p.more() {
				v, err := p.uvarint()
				if err != nil {
					return err
				}
				d.addVarint(num, v)
			}
		default:
			return ErrWireType
		}
	case 7: // value_double, packed or not
		switch typ {
		case wireFixed64:
			v, err := w.fixed64()
			if err != nil {
				return err
			}
			d.dbls = appendArena(d.dbls, math.Float64frombits(v), 4)
		case wireBytes:
			start, end, err := w.bytes()
			if err != nil {
				return err
			}
			if (end-start)%8 != 0 {
				return ErrPackedLength
			}
			p := wire{b: w.b[:end], off: start}
			for p.more() {
				v, _ := p.fixed64()
				d.dbls = appendArena(d.dbls, math.Float64frombits(v), (end-start)/8)
			}
		default:
			return ErrWireType
		}
	default:
		return w.skip(typ)
	}
	return nil
}

func (d *decoder) addVarint(num int, v uint64) {
	if num == 6 {
		d.ints = appendArena(d.ints, int64(v), 4)
	} else {
		d.bools = appendArena(d.bools, v != 0, 4)
	}
}

// appendArena appends v to an arena, giving a new arena room for at least
// hint values so that small messages need one allocation per value type.
func appendArena[T any](a []T, v T, hint int) []T {
	if a == nil {
		a = make([]T, 0, max(hint, 4))
	}
	return append(a, v)
}

// MessageType returns the type of the protobuf Message in data, the value
// Unmarshal gives Type (the last type field; empty when there is none),
// without decoding the rest: for a reader that treats some types apart
// before it decides to decode. The result aliases data. Malformed input
// yields the *SyntaxError Unmarshal would report for the Message's own
// fields (those inside a Field are not checked).
func MessageType(data []byte) ([]byte, error) {
	w := wire{b: data}
	var typ []byte
	for w.more() {
		tagOff := w.off
		num, wt, err := w.tag()
		if err != nil {
			return nil, &SyntaxError{In: "Message", Offset: tagOff, Err: err}
		}
		valOff := w.off
		switch num {
		case 2, 5, 8:
			if wt != wireVarint {
				err = ErrWireType
				break
			}
			_, err = w.uvarint()
		case 1, 3, 4, 6, 7, 9, 10:
			if wt != wireBytes {
				err = ErrWireType
				break
			}
			var start, end int
			if start, end, err = w.bytes(); err == nil && num == 3 {
				typ = data[start:end]
			}
		default:
			err = w.skip(wt)
		}
		if err != nil {
			return nil, &SyntaxError{In: "Message", Offset: valOff, Field: num, Err: err}
		}
	}
	return typ, nil
}
