package syslog

import (
	"strings"
	"time"

	"github.com/metlog/metlog"
)

// parse3164 reads what follows the PRI of a BSD syslog message. Anything
// is a valid BSD message: what cannot be read as header is payload.
func (p *Parser) parse3164(s string, m *metlog.Message) {
	if ts, rest, ok := p.bsdTime(s); ok {
		m.Timestamp = ts
		s = rest
		// HOSTNAME, unless the sender left it out and this is the tag.
		if tok, rest, ok := token(s); ok && tok != "" && !strings.HasSuffix(tok, ":") && strings.IndexByte(tok, '[') < 0 {
			m.Hostname = tok
			s = rest
		}
	}
	if tag, pid, rest, ok := parseTag(s); ok {
		m.Logger = tag
		setProcID(m, pid)
		s = rest
	}
	m.Payload = s
}

// parseTag reads "TAG: ", "TAG[PID]: " or "TAG[PID] " from the start of s.
func parseTag(s string) (tag, pid, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] != ':' && s[i] != '[' && s[i] != ' ' {
		i++
	}
	if i == 0 || i == len(s) {
		return "", "", s, false
	}
	tag = s[:i]
	if s[i] == '[' {
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return "", "", s, false
		}
		pid = s[i+1 : i+j]
		i += j + 1
		if i < len(s) && s[i] == ' ' {
			return tag, pid, s[i+1:], true
		}
	}
	if i < len(s) && s[i] == ':' {
		i++
		if i < len(s) && s[i] == ' ' {
			i++
		}
		return tag, pid, s[i:], true
	}
	if pid != "" && i == len(s) {
		return tag, pid, "", true
	}
	return "", "", s, false
}

// futureSlack is how far in the future an RFC 3164 timestamp may lie
// before it is taken to be from the year before: senders' clocks may run
// a little ahead of the router's.
const futureSlack = 7 * 24 * time.Hour

// validYear reports whether four digits beside a BSD timestamp are a year
// a message timestamp (ns since the epoch, int64) can hold; others ("0000")
// are not a year but the next word of the message (a hostname).
func validYear(y int) bool { return y >= 1678 && y <= 2261 }

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// bsdTime reads the timestamp at the start of a BSD message — "Mmm dd
// hh:mm:ss" and its variants, or RFC 3339 — and the space after it.
func (p *Parser) bsdTime(s string) (int64, string, bool) {
	if len(s) > 0 && s[0] >= '0' && s[0] <= '9' {
		tok, rest, _ := token(s)
		if ts, ok := parseRFC3339(tok); ok {
			return ts, rest, true
		}
		return 0, s, false
	}
	if len(s) < 14 || s[3] != ' ' {
		return 0, s, false
	}
	mon := -1
	for i, name := range months {
		if s[:3] == name {
			mon = i
			break
		}
	}
	if mon < 0 {
		return 0, s, false
	}
	i := 4
	if s[i] == ' ' { // "Nov  2"
		i++
	}
	day, n := digits(s[i:], 2)
	if n == 0 || i+n >= len(s) || s[i+n] != ' ' || day < 1 || day > 31 {
		return 0, s, false
	}
	i += n + 1
	year := -1
	if y, n := digits(s[i:], 4); n == 4 && validYear(y) && i+4 < len(s) && s[i+4] == ' ' { // "Nov 22 2026 05:00:00"
		year = y
		i += 5
	}
	hh, mm, ss, ns, n, ok := clock(s[i:])
	if !ok {
		return 0, s, false
	}
	i += n
	if year < 0 {
		if i < len(s) && s[i] == ' ' { // "Nov 22 05:00:00 2026"
			// Only when a word follows: "05:00:00 2026 " at the end is the
			// hostname 2026, as an encoder writes it.
			if y, n := digits(s[i+1:], 4); n == 4 && validYear(y) && i+6 < len(s) && s[i+5] == ' ' && s[i+6] != ' ' {
				year = y
				i += 5
			}
		}
	}
	if i < len(s) {
		if s[i] != ' ' {
			return 0, s, false
		}
		i++
	}
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	if year >= 0 {
		t := time.Date(year, time.Month(mon+1), day, hh, mm, ss, ns, loc)
		if t.Day() != day {
			return 0, s, false
		}
		return t.UnixNano(), s[i:], true
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	limit := now().Add(futureSlack)
	y := limit.In(loc).Year()
	for _, yy := range [3]int{y, y - 1, y - 2} {
		t := time.Date(yy, time.Month(mon+1), day, hh, mm, ss, ns, loc)
		if t.Day() == day && !t.After(limit) { // Feb 29 is not in every year
			return t.UnixNano(), s[i:], true
		}
	}
	return 0, s, false
}

// digits reads up to max decimal digits from the start of s.
func digits(s string, max int) (v, n int) {
	for n < len(s) && n < max && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}

// clock reads "hh:mm:ss" with an optional fraction of up to 9 digits.
func clock(s string) (hh, mm, ss, ns, n int, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return
	}
	var k int
	if hh, k = digits(s, 2); k != 2 || hh > 23 {
		return
	}
	if mm, k = digits(s[3:], 2); k != 2 || mm > 59 {
		return
	}
	if ss, k = digits(s[6:], 2); k != 2 || ss > 60 {
		return
	}
	n = 8
	if n < len(s) && s[n] == '.' {
		f, k := digits(s[n+1:], 9)
		if k == 0 {
			return
		}
		for range 9 - k {
			f *= 10
		}
		ns = f
		n += 1 + k
		for n < len(s) && s[n] >= '0' && s[n] <= '9' { // digits past nanoseconds
			n++
		}
	}
	return hh, mm, ss, ns, n, true
}

// parseRFC3339 reads an RFC 3339 timestamp as RFC 5424 restricts it:
// "2026-11-22T05:00:00.123456Z", "2026-11-22T06:00:00+01:00".
func parseRFC3339(s string) (int64, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') {
		return 0, false
	}
	year, n1 := digits(s, 4)
	mon, n2 := digits(s[5:], 2)
	day, n3 := digits(s[8:], 2)
	if n1 != 4 || n2 != 2 || n3 != 2 || mon < 1 || mon > 12 || day < 1 || day > 31 || year < 1678 || year > 2261 {
		return 0, false
	}
	hh, mm, ss, ns, n, ok := clock(s[11:])
	if !ok {
		return 0, false
	}
	z := s[11+n:]
	offset := 0
	switch {
	case z == "Z" || z == "z":
	case len(z) == 6 && (z[0] == '+' || z[0] == '-') && z[3] == ':':
		oh, k1 := digits(z[1:], 2)
		om, k2 := digits(z[4:], 2)
		if k1 != 2 || k2 != 2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = oh*3600 + om*60
		if z[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	t := time.Date(year, time.Month(mon), day, hh, mm, ss, ns, time.UTC)
	if t.Day() != day && ss != 60 {
		return 0, false
	}
	return t.UnixNano() - int64(offset)*1e9, true
}
