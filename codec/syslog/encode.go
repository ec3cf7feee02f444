package syslog

import (
	"strconv"
	"strings"
	"time"

	"github.com/metlog/metlog"
)

// Header is a syslog header: everything but the structured data and the
// message text.
type Header struct {
	Facility Facility
	Severity metlog.Severity
	// Timestamp in nanoseconds since the epoch; 0 writes none.
	Timestamp int64
	// Hostname, AppName (the RFC 3164 tag), ProcID and MsgID; empty
	// writes none. Characters a header cannot hold are written as '_'.
	Hostname, AppName, ProcID, MsgID string
}

// HeaderOf is the header of m, inverting Parser.Parse: its severity,
// timestamp, hostname, logger as app-name, pid (or "procid" field) and
// "msgid" field. The facility is the one named by m's "facility" field, or
// fac when it has none or it names none.
func HeaderOf(m *metlog.Message, fac Facility) Header {
	h := Header{Facility: fac, Severity: m.Severity & 7, Timestamp: m.Timestamp,
		Hostname: m.Hostname, AppName: m.Logger}
	if f := stringField(m, FieldFacility); f != "" {
		if v, err := ParseFacility(f); err == nil {
			h.Facility = v
		}
	}
	if m.Pid != 0 {
		h.ProcID = strconv.Itoa(int(m.Pid))
	} else {
		h.ProcID = stringField(m, FieldProcID)
	}
	h.MsgID = stringField(m, FieldMsgID)
	return h
}

// stringField returns the first value of m's string field name, or "".
func stringField(m *metlog.Message, name string) string {
	f := m.Field(name)
	if f == nil || f.Type != metlog.TypeString || len(f.Strings) == 0 {
		return ""
	}
	return f.Strings[0]
}

// Header field length limits of RFC 5424.
const (
	maxHostname = 255
	maxAppName  = 48
	maxProcID   = 128
	maxMsgID    = 32
	maxSDName   = 32
)

// appendPRI appends "<PRI>".
func appendPRI(dst []byte, h *Header) []byte {
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(Priority(h.Facility%(MaxFacility+1), int(h.Severity))), 10)
	return append(dst, '>')
}

// appendToken appends s as a header field of printable US-ASCII, at most
// max bytes, or "-" when it is empty.
func appendToken(dst []byte, s string, max int) []byte {
	if s == "" {
		return append(dst, '-')
	}
	if len(s) > max {
		s = s[:max]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// AppendRFC5424 appends an RFC 5424 message without framing:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
//
// The timestamp is UTC with microseconds. Structured data comes from the
// string fields named "SD-ID.PARAM-NAME" whose SD-ID holds an '@' or is
// one of the IANA-registered timeQuality, origin and meta, in order, a new
// element wherever the SD-ID changes; other fields are not written. msg
// follows as it is, with no BOM.
func AppendRFC5424(dst []byte, h *Header, fields []metlog.Field, msg string) []byte {
	dst = appendPRI(dst, h)
	dst = append(dst, "1 "...)
	if h.Timestamp == 0 {
		dst = append(dst, '-')
	} else {
		dst = time.Unix(0, h.Timestamp).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	}
	dst = append(dst, ' ')
	dst = appendToken(dst, h.Hostname, maxHostname)
	dst = append(dst, ' ')
	dst = appendToken(dst, h.AppName, maxAppName)
	dst = append(dst, ' ')
	dst = appendToken(dst, h.ProcID, maxProcID)
	dst = append(dst, ' ')
	dst = appendToken(dst, h.MsgID, maxMsgID)
	dst = append(dst, ' ')
	dst = appendSD(dst, fields)
	if msg != "" {
		dst = append(dst, ' ')
		dst = append(dst, msg...)
	}
	return dst
}

// SDParam splits a field name "SD-ID.PARAM-NAME" that AppendRFC5424
// writes as structured data; ok is false for any other name.
func SDParam(name string) (id, param string, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return "", "", false
	}
	id, param = name[:i], name[i+1:]
	if len(id) > maxSDName || len(param) > maxSDName || sdNameEnd(id) != len(id) || sdNameEnd(param) != len(param) {
		return "", "", false
	}
	if strings.IndexByte(id, '@') < 0 && id != "timeQuality" && id != "origin" && id != "meta" {
		return "", "", false
	}
	return id, param, true
}

// appendSD appends the structured data of fields, or "-".
func appendSD(dst []byte, fields []metlog.Field) []byte {
	open := ""
	for i := range fields {
		f := &fields[i]
		if f.Type != metlog.TypeString || len(f.Strings) == 0 {
			continue
		}
		id, param, ok := SDParam(f.Name)
		if !ok {
			continue
		}
		if id != open {
			if open != "" {
				dst = append(dst, ']')
			}
			dst = append(dst, '[')
			dst = append(dst, id...)
			open = id
		}
		for _, v := range f.Strings {
			dst = append(dst, ' ')
			dst = append(dst, param...)
			dst = append(dst, '=', '"')
			for j := 0; j < len(v); j++ {
				if c := v[j]; c == '"' || c == '\\' || c == ']' {
					dst = append(dst, '\\')
				}
				dst = append(dst, v[j])
			}
			dst = append(dst, '"')
		}
	}
	if open == "" {
		return append(dst, '-')
	}
	return append(dst, ']')
}

// AppendRFC3164 appends a BSD syslog message without framing:
//
//	<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PROCID]: MSG
//
// The timestamp is written in loc (UTC when nil), or the current time when
// h has none, since the format cannot leave it out. An empty hostname is
// written as "-"; with no app-name the tag is left out (and MSG follows
// the hostname), and the procid is written only with a tag. The tag is cut
// at 48 bytes, and spaces, ':', '[' and ']' in it are written as '_'.
func AppendRFC3164(dst []byte, h *Header, loc *time.Location, msg string) []byte {
	if loc == nil {
		loc = time.UTC
	}
	dst = appendPRI(dst, h)
	t := time.Now()
	if h.Timestamp != 0 {
		t = time.Unix(0, h.Timestamp)
	}
	// A hostname that reads as a year ("2026") after the time would be
	// taken for one when a word follows: write the year before the time
	// then ("Nov 22 2026 05:00:00", as Cisco devices do), and the parser
	// looks for no second year.
	if yearLike(h.Hostname) {
		dst = t.In(loc).AppendFormat(dst, "Jan _2 2006 15:04:05")
	} else {
		dst = t.In(loc).AppendFormat(dst, time.Stamp)
	}
	dst = append(dst, ' ')
	start := len(dst)
	dst = appendToken(dst, h.Hostname, maxHostname)
	// A BSD hostname ending in ':' or holding '[' would be read back as
	// the tag (the sender left the hostname out): write those as '_'.
	for i := start; i < len(dst); i++ {
		if dst[i] == '[' || dst[i] == ':' && i == len(dst)-1 {
			dst[i] = '_'
		}
	}
	dst = append(dst, ' ')
	if h.AppName != "" {
		tag := h.AppName
		if len(tag) > maxAppName {
			tag = tag[:maxAppName]
		}
		for i := 0; i < len(tag); i++ {
			c := tag[i]
			if c <= ' ' || c > '~' || c == ':' || c == '[' || c == ']' {
				c = '_'
			}
			dst = append(dst, c)
		}
		if h.ProcID != "" {
			dst = append(dst, '[')
			pid := h.ProcID
			if len(pid) > maxProcID {
				pid = pid[:maxProcID]
			}
			for i := 0; i < len(pid); i++ {
				c := pid[i]
				if c <= ' ' || c > '~' || c == ']' {
					c = '_'
				}
				dst = append(dst, c)
			}
			dst = append(dst, ']')
		}
		dst = append(dst, ':', ' ')
	}
	return append(dst, msg...)
}

// yearLike reports whether a hostname would be read as a year beside a BSD
// timestamp.
func yearLike(s string) bool {
	y, n := digits(s, 4)
	return n == 4 && len(s) == 4 && validYear(y)
}
