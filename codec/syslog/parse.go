package syslog

import (
	"strconv"
	"strings"
	"time"

	"github.com/metlog/metlog"
)

// Names of the fields Parse sets.
const (
	FieldFacility   = "facility"
	FieldProcID     = "procid"
	FieldMsgID      = "msgid"
	FieldParseError = "parse_error"
)

// DefaultType is the type of parsed messages when Parser.Type is empty.
const DefaultType = "syslog"

// Error is what is wrong with a message that does not parse. Its text is
// constant, so reporting it allocates nothing.
type Error uint8

// The parse errors.
const (
	ErrEmpty             Error = iota // nothing but line ends
	ErrNoPriority                     // no "<PRI>" at the start
	ErrBadPriority                    // a PRI that is not a number from 0 to 191
	ErrBadTimestamp                   // an RFC 5424 timestamp that is not RFC 3339
	ErrBadHeader                      // an RFC 5424 header missing a field
	ErrBadStructuredData              // RFC 5424 structured data that does not parse
	numErrors
)

var errorTexts = [numErrors]string{
	"empty message",
	"no <PRI> at the start",
	"PRI is not a number from 0 to 191",
	"RFC 5424 timestamp is not RFC 3339",
	"RFC 5424 header is missing a field",
	"RFC 5424 structured data is malformed",
}

// Error returns the error's constant text.
func (e Error) Error() string {
	if e < numErrors {
		return errorTexts[e]
	}
	return "syslog error " + strconv.Itoa(int(e))
}

// Label returns a short name for metrics, such as "bad_timestamp".
func (e Error) Label() string {
	switch e {
	case ErrEmpty:
		return "empty"
	case ErrNoPriority:
		return "no_priority"
	case ErrBadPriority:
		return "bad_priority"
	case ErrBadTimestamp:
		return "bad_timestamp"
	case ErrBadHeader:
		return "bad_header"
	case ErrBadStructuredData:
		return "bad_structured_data"
	}
	return "unknown"
}

// Errors lists every Error.
func Errors() []Error {
	out := make([]Error, numErrors)
	for i := range out {
		out[i] = Error(i)
	}
	return out
}

// Parser reads syslog messages. Its fields are read-only once it is in
// use; it is safe for concurrent use.
type Parser struct {
	// Type is the type of every message; empty means DefaultType.
	Type string
	// Location is the zone of RFC 3164 timestamps, which name none; nil
	// means UTC.
	Location *time.Location
	// Now returns the current time, which decides the year of RFC 3164
	// timestamps; nil means time.Now.
	Now func() time.Time
}

// Parse reads one syslog message, RFC 5424 or RFC 3164 (told apart by the
// version after the PRI), from line into m, overwriting all of m. Trailing
// CR, LF and NUL bytes are ignored. On failure it returns an
// Error and m still holds the line, as the package comment describes.
func (p *Parser) Parse(line []byte, m *metlog.Message) error {
	for len(line) > 0 {
		if c := line[len(line)-1]; c != '\n' && c != '\r' && c != 0 {
			break
		}
		line = line[:len(line)-1]
	}
	s := string(line)
	reset(m)
	m.Type = p.Type
	if m.Type == "" {
		m.Type = DefaultType
	}
	m.EnvVersion = metlog.EnvVersion
	pri, rest, err := parsePRI(s)
	if err == nil {
		m.Severity = metlog.Severity(pri & 7)
		addString(m, FieldFacility, facilityNames[pri>>3])
		if v, after, ok := version(rest); ok && v == "1" {
			err = p.parse5424(after, m)
		} else {
			p.parse3164(rest, m)
		}
	}
	if err != nil {
		keep(s, m, pri, err.(Error))
	}
	return err
}

// keep makes m the kept form of a line that did not parse.
func keep(s string, m *metlog.Message, pri int, err Error) {
	typ := m.Type
	reset(m)
	m.Type, m.EnvVersion, m.Payload = typ, metlog.EnvVersion, s
	m.Severity = metlog.Notice
	if pri >= 0 {
		m.Severity = metlog.Severity(pri & 7)
		addString(m, FieldFacility, facilityNames[pri>>3])
	}
	addString(m, FieldParseError, err.Error())
}

// reset clears m, UUID included (a router stamps a message it delivers
// with one, and a reused message must not pass it on), but keeps its
// Fields and their string slices for reuse.
func reset(m *metlog.Message) {
	fields := m.Fields[:0]
	*m = metlog.Message{Fields: fields}
}

// addString appends a string field, reusing the field and string slice
// that a previous message left in m.Fields' spare capacity.
func addString(m *metlog.Message, name, value string) {
	n := len(m.Fields)
	if n == cap(m.Fields) {
		m.Fields = append(m.Fields, metlog.String(name, value))
		return
	}
	m.Fields = m.Fields[:n+1]
	f := &m.Fields[n]
	strs := f.Strings[:0]
	if cap(strs) == 0 {
		strs = make([]string, 0, 1)
	}
	*f = metlog.Field{Name: name, Strings: append(strs, value)}
}

// parsePRI reads "<PRI>" from the start of s. It returns pri -1 when there
// is none.
func parsePRI(s string) (int, string, error) {
	if s == "" {
		return -1, s, ErrEmpty
	}
	if s[0] != '<' {
		return -1, s, ErrNoPriority
	}
	pri := 0
	i := 1
	for ; i < len(s) && i <= 4 && s[i] >= '0' && s[i] <= '9'; i++ {
		pri = pri*10 + int(s[i]-'0')
	}
	if i == 1 || i >= len(s) || s[i] != '>' || i > 4 || pri > 191 {
		return -1, s, ErrBadPriority
	}
	return pri, s[i+1:], nil
}

// version reads an RFC 5424 VERSION (1 to 3 digits, not starting with 0)
// and the space after it.
func version(s string) (string, string, bool) {
	i := 0
	for i < len(s) && i < 3 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || s[0] == '0' || i >= len(s) || s[i] != ' ' {
		return "", s, false
	}
	return s[:i], s[i+1:], true
}

// token splits s at its first space; ok is false when there is none.
func token(s string) (tok, rest string, ok bool) {
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// nilValue maps RFC 5424's "-" to "".
func nilValue(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// parse5424 reads what follows "<PRI>1 ".
func (p *Parser) parse5424(s string, m *metlog.Message) error {
	var ts, host, app, procid, msgid string
	var ok bool
	if ts, s, ok = token(s); !ok {
		return ErrBadHeader
	}
	if host, s, ok = token(s); !ok {
		return ErrBadHeader
	}
	if app, s, ok = token(s); !ok {
		return ErrBadHeader
	}
	if procid, s, ok = token(s); !ok {
		return ErrBadHeader
	}
	msgid, s, ok = token(s)
	if !ok && s != "" {
		return ErrBadHeader
	}
	if ts == "" || host == "" || app == "" || procid == "" || msgid == "" {
		return ErrBadHeader
	}
	if ts != "-" {
		t, ok := parseRFC3339(ts)
		if !ok {
			return ErrBadTimestamp
		}
		m.Timestamp = t
	}
	m.Hostname = nilValue(host)
	m.Logger = nilValue(app)
	setProcID(m, nilValue(procid))
	if msgid = nilValue(msgid); msgid != "" {
		addString(m, FieldMsgID, msgid)
	}
	switch {
	case s == "": // no structured data and no message: lenient
	case s[0] == '-':
		s = s[1:]
	case s[0] == '[':
		var err error
		if s, err = parseSD(s, m); err != nil {
			return err
		}
	default:
		return ErrBadStructuredData
	}
	if s != "" {
		if s[0] != ' ' {
			return ErrBadStructuredData
		}
		s = strings.TrimPrefix(s[1:], "\ufeff")
	}
	m.Payload = s
	return nil
}

// setProcID sets m.Pid from a decimal procid, or a procid field.
func setProcID(m *metlog.Message, procid string) {
	if procid == "" {
		return
	}
	if n, ok := atoi(procid); ok && n <= 1<<31-1 && (procid[0] != '0' || len(procid) == 1) {
		m.Pid = int32(n)
		return
	}
	addString(m, FieldProcID, procid)
}

// atoi reads a non-empty run of up to 18 decimal digits.
func atoi(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// sdNameEnd returns the length of the SD-NAME at the start of s: printable
// US-ASCII but '=', ' ', ']' and '"'.
func sdNameEnd(s string) int {
	i := 0
	for i < len(s) {
		c := s[i]
		if c <= ' ' || c > '~' || c == '=' || c == ']' || c == '"' {
			break
		}
		i++
	}
	return i
}

// parseSD reads structured data elements from the start of s, adding a
// field per parameter, and returns what follows them.
func parseSD(s string, m *metlog.Message) (string, error) {
	var nameBuf [256]byte
	names := nameBuf[:0]
	var endBuf [16]int
	ends := endBuf[:0] // end of each field's name in names
	first := len(m.Fields)
	for len(s) > 0 && s[0] == '[' {
		s = s[1:]
		n := sdNameEnd(s)
		if n == 0 {
			return s, ErrBadStructuredData
		}
		id := s[:n]
		s = s[n:]
		for {
			if s == "" {
				return s, ErrBadStructuredData
			}
			if s[0] == ']' {
				s = s[1:]
				break
			}
			if s[0] != ' ' {
				return s, ErrBadStructuredData
			}
			s = s[1:]
			n := sdNameEnd(s)
			if n == 0 || n+1 >= len(s) || s[n] != '=' || s[n+1] != '"' {
				return s, ErrBadStructuredData
			}
			param := s[:n]
			s = s[n+2:]
			value, rest, ok := sdValue(s)
			if !ok {
				return s, ErrBadStructuredData
			}
			s = rest
			names = append(names, id...)
			names = append(names, '.')
			names = append(names, param...)
			ends = append(ends, len(names))
			addString(m, "", value)
		}
	}
	all := string(names)
	start := 0
	for i, end := range ends {
		m.Fields[first+i].Name = all[start:end]
		start = end
	}
	return s, nil
}

// sdValue reads a PARAM-VALUE up to its closing quote, undoing the
// escapes \" \\ and \] (a backslash before anything else is kept).
func sdValue(s string) (value, rest string, ok bool) {
	escaped := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']') {
				escaped = true
				i++
			}
		case '"':
			if !escaped {
				return s[:i], s[i+1:], true
			}
			return unescape(s[:i]), s[i+1:], true
		}
	}
	return "", s, false
}

func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
