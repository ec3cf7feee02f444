package metlogjson

import (
	"strconv"

	"github.com/metlog/metlog"
)

// fieldsValue reads the "fields" object (or null) into d.m.Fields.
func (d *decoder) fieldsValue() error {
	switch d.peek() {
	case 'n':
		return d.literal("null")
	case '{':
		d.path = d.path[:0]
		return d.members(1, true)
	}
	return d.fail(ErrBadValue, "fields: want an object")
}

// members reads the members of the object at the current position, nested
// in depth containers, as fields named d.path + "." + key, or just key for
// the fields object itself (top).
func (d *decoder) members(depth int, top bool) error {
	if depth+1 > d.lim.MaxDepth {
		return d.fail(ErrTooDeep, "nesting deeper than "+strconv.Itoa(d.lim.MaxDepth))
	}
	d.i++ // {
	if d.peek() == '}' {
		d.i++
		return nil
	}
	prefix := len(d.path)
	for {
		if d.peek() != '"' {
			return d.unexpected("a string key")
		}
		key, err := d.key()
		if err != nil {
			return err
		}
		d.path = d.path[:prefix]
		if !top {
			d.path = append(d.path, '.')
		}
		d.path = append(d.path, key...)
		if err := d.fieldValue(depth + 1); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			d.path = d.path[:prefix]
			return nil
		default:
			return d.unexpected("',' or '}'")
		}
	}
}

// fieldValue reads the value at the current position, nested in depth
// containers, as the field (or, for an object, the fields) named d.path.
func (d *decoder) fieldValue(depth int) error {
	at := d.i
	if d.i >= len(d.data) {
		return d.unexpected("a value")
	}
	switch c := d.data[d.i]; {
	case c == '{':
		if depth+1 > d.lim.MaxDepth {
			return d.fail(ErrTooDeep, "nesting deeper than "+strconv.Itoa(d.lim.MaxDepth))
		}
		// An empty object has no fields to flatten to: keep it as {}.
		start := d.i
		d.i++
		if d.peek() == '}' {
			d.i++
			return d.addRaw([]byte("{}"), at)
		}
		d.i = start
		return d.members(depth, false)
	case c == '[':
		return d.arrayField(depth)
	case c == '"':
		f, err := d.addField("", metlog.TypeString, at)
		if err != nil {
			return err
		}
		b, err := d.str()
		if err != nil {
			return err
		}
		f.Strings = appendText(f.Strings, b)
	case c == 't' || c == 'f':
		v := c == 't'
		lit := "false"
		if v {
			lit = "true"
		}
		if err := d.literal(lit); err != nil {
			return err
		}
		f, err := d.addField("", metlog.TypeBool, at)
		if err != nil {
			return err
		}
		f.Bools = append(f.Bools, v)
	case c == 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
		return d.addRaw([]byte("null"), at)
	case isNumberStart(c):
		if v, end, ok := smallInt(d.data, d.i); ok {
			d.i = end
			f, err := d.addField("", metlog.TypeInteger, at)
			if err != nil {
				return err
			}
			f.Integers = append(f.Integers, v)
			return nil
		}
		n, err := d.number()
		if err != nil {
			return err
		}
		switch n.kind {
		case numInt:
			f, err := d.addField("", metlog.TypeInteger, at)
			if err != nil {
				return err
			}
			f.Integers = append(f.Integers, n.i)
		case numFloat:
			f, err := d.addField("", metlog.TypeDouble, at)
			if err != nil {
				return err
			}
			f.Doubles = append(f.Doubles, n.f)
		default:
			return d.addRaw(n.text, at)
		}
	default:
		return d.unexpected("a value")
	}
	return nil
}

// elem is one value of an array being read as a typed array field.
type elem struct {
	i    int64
	f    float64
	b    bool
	s, e int // the string value is d.abuf[s:e]
}

// arrayField reads the array at the current position as the field named
// d.path: a typed array field when it holds two or more strings, integers
// (fitting int64), doubles or bools, all of one kind; else a raw JSON field.
// The values are collected in d.elems and d.abuf until the array is known to
// be typed.
func (d *decoder) arrayField(depth int) error {
	if depth+1 > d.lim.MaxDepth {
		return d.fail(ErrTooDeep, "nesting deeper than "+strconv.Itoa(d.lim.MaxDepth))
	}
	start := d.i
	d.i++ // [
	d.elems = d.elems[:0]
	d.abuf = d.abuf[:0]
	var t metlog.ValueType
	for {
		c := d.peek()
		var v elem
		var et metlog.ValueType
		switch {
		case c == '"':
			b, err := d.str()
			if err != nil {
				return err
			}
			v.s = len(d.abuf)
			d.abuf = append(d.abuf, b...)
			v.e = len(d.abuf)
			et = metlog.TypeString
		case c == 't' || c == 'f':
			v.b = c == 't'
			lit := "false"
			if v.b {
				lit = "true"
			}
			if err := d.literal(lit); err != nil {
				return err
			}
			et = metlog.TypeBool
		case isNumberStart(c):
			n, err := d.number()
			if err != nil {
				return err
			}
			switch n.kind {
			case numInt:
				v.i, et = n.i, metlog.TypeInteger
			case numFloat:
				v.f, et = n.f, metlog.TypeDouble
			default:
				return d.rawArray(start, depth)
			}
		default: // null, an object or array, the end of an empty array
			return d.rawArray(start, depth)
		}
		if len(d.elems) == 0 {
			t = et
		} else if et != t {
			return d.rawArray(start, depth)
		}
		d.elems = append(d.elems, v)
		switch d.peek() {
		case ',':
			d.i++
			continue
		case ']':
			d.i++
		default:
			return d.unexpected("',' or ']'")
		}
		break
	}
	if len(d.elems) < 2 {
		return d.rawArray(start, depth)
	}
	f, err := d.addField("", t, start)
	if err != nil {
		return err
	}
	for _, v := range d.elems {
		switch t {
		case metlog.TypeString:
			f.Strings = appendText(f.Strings, d.abuf[v.s:v.e])
		case metlog.TypeBool:
			f.Bools = append(f.Bools, v.b)
		case metlog.TypeInteger:
			f.Integers = append(f.Integers, v.i)
		case metlog.TypeDouble:
			f.Doubles = append(f.Doubles, v.f)
		}
	}
	return nil
}

// rawArray reads the array starting at start again, as a raw JSON field.
func (d *decoder) rawArray(start, depth int) error {
	d.i = start
	d.rbuf = d.rbuf[:0]
	if err := d.raw(depth); err != nil {
		return err
	}
	return d.addRaw(d.rbuf, start)
}

// addRaw adds a RepresentationJSON string field named d.path holding the
// JSON text b.
func (d *decoder) addRaw(b []byte, at int) error {
	f, err := d.addField("", metlog.TypeString, at)
	if err != nil {
		return err
	}
	f.Representation = metlog.RepresentationJSON
	f.Strings = appendText(f.Strings, b)
	return nil
}

// addField appends a field of type t named name, or d.path if name is
// empty, with no values; at is the offset of its value, for errors. It
// reuses the slot's previous content: the name when equal, and the value
// slice of type t.
func (d *decoder) addField(name string, t metlog.ValueType, at int) (*metlog.Field, error) {
	m := d.m
	k := len(m.Fields)
	if k >= d.lim.MaxFields {
		return nil, d.failAt(at, ErrTooManyFields, "more than "+strconv.Itoa(d.lim.MaxFields)+" fields")
	}
	if k < cap(m.Fields) {
		m.Fields = m.Fields[:k+1]
	} else if k == 0 {
		m.Fields = make([]metlog.Field, 1, 4)
	} else {
		m.Fields = append(m.Fields, metlog.Field{})
	}
	// The slot is reset member by member, storing only what differs: a
	// field of a stream's message is mostly the same as the last one's
	// in its place, and a store of a pointer costs a write barrier while
	// the garbage collector marks.
	f := &m.Fields[k]
	f.Type = t
	if name == "" {
		name = fieldName(d.path, f.Name)
	}
	setString(&f.Name, name)
	setString(&f.Representation, "")
	// Each value slice is emptied for reuse if it is type t's, else
	// dropped; a slice cut in place costs no pointer store.
	if f.Bytes != nil {
		f.Bytes = nil
	}
	if t == metlog.TypeString {
		f.Strings = f.Strings[:0]
	} else if f.Strings != nil {
		f.Strings = nil
	}
	if t == metlog.TypeInteger {
		f.Integers = f.Integers[:0]
	} else if f.Integers != nil {
		f.Integers = nil
	}
	if t == metlog.TypeDouble {
		f.Doubles = f.Doubles[:0]
	} else if f.Doubles != nil {
		f.Doubles = nil
	}
	if t == metlog.TypeBool {
		f.Bools = f.Bools[:0]
	} else if f.Bools != nil {
		f.Bools = nil
	}
	return f, nil
}

// fieldName returns path as a string, reusing old when equal.
func fieldName(path []byte, old string) string {
	if string(path) == old {
		return old
	}
	return text(path, "")
}

// appendText appends b as a string to s, reusing the string s held at that
// index before (s has been cut to length, its array still holds the old
// values) when equal.
func appendText(s []string, b []byte) []string {
	if len(s) < cap(s) {
		old := s[:len(s)+1][len(s)]
		return append(s, text(b, old))
	}
	return append(s, text(b, ""))
}

// representations applies the "representations" object at the current
// position (already checked to be valid JSON) to the fields: each member
// names a field and gives its representation, as a string for every field
// of that name, or as an array of strings, one per field of that name in
// order.
func (d *decoder) representations() error {
	d.i++ // {
	if d.peek() == '}' {
		return nil
	}
	for {
		d.space()
		key, err := d.str()
		if err != nil {
			return err
		}
		d.path = append(d.path[:0], key...)
		if err := d.expect(':', "':'"); err != nil {
			return err
		}
		switch d.peek() {
		case '"':
			b, err := d.str()
			if err != nil {
				return err
			}
			rep := text(b, "")
			for i := range d.m.Fields {
				if f := &d.m.Fields[i]; f.Name == string(d.path) {
					f.Representation = rep
				}
			}
		case '[':
			d.i++
			k := 0
			for d.peek() != ']' {
				if d.peek() != '"' {
					return d.fail(ErrBadValue, "representations: want strings")
				}
				b, err := d.str()
				if err != nil {
					return err
				}
				rep := text(b, "")
				for i, n := 0, 0; i < len(d.m.Fields); i++ {
					if f := &d.m.Fields[i]; f.Name == string(d.path) {
						if n == k {
							f.Representation = rep
							break
						}
						n++
					}
				}
				k++
				if d.peek() == ',' {
					d.i++
				}
			}
			d.i++
		default:
			return d.fail(ErrBadValue, "representations: want a string or an array of strings")
		}
		if d.peek() == '}' {
			return nil
		}
		d.i++ // ,
	}
}
