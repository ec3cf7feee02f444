package statsd

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// namespaces holds the name prefixes of each kind of metric, built once from
// the Config the way statsd's graphite backend builds its namespaces.
type namespaces struct {
	counterRate  string // before the key of a counter's rate
	counterCount string // before the key of a counter's count
	rateExtra    string // after it: "rate", or "" in the legacy namespace
	countExtra   string // "count", or ""
	timer        string
	gauge        string
	set          string
	suffix       string // the global suffix, with its dot
	numStats     string // the accumulator's own metrics, but for the suffix
	procTime     string
}

func newNamespaces(c *Config) namespaces {
	var n namespaces
	if c.GlobalSuffix != "" {
		n.suffix = "." + c.GlobalSuffix
	}
	if c.LegacyNamespace {
		n.counterRate, n.counterCount = "stats.", "stats_counts."
		n.timer, n.gauge, n.set = "stats.timers.", "stats.gauges.", "stats.sets."
		n.numStats = c.PrefixStats + ".numStats"
		n.procTime = "stats." + c.PrefixStats + ".processing_time"
		return n
	}
	var global []string
	if c.GlobalPrefix != "" {
		global = []string{c.GlobalPrefix}
	}
	prefix := func(p string) string {
		ns := global
		if p != "" {
			ns = append(ns[:len(ns):len(ns)], p)
		}
		if len(ns) == 0 {
			return ""
		}
		return strings.Join(ns, ".") + "."
	}
	n.counterRate = prefix(c.PrefixCounter)
	n.counterCount = n.counterRate
	n.rateExtra, n.countExtra = "rate", "count"
	n.timer, n.gauge, n.set = prefix(c.PrefixTimer), prefix(c.PrefixGauge), prefix(c.PrefixSet)
	n.numStats = prefix("") + c.PrefixStats + ".numStats"
	n.procTime = prefix("") + c.PrefixStats + ".processing_time"
	return n
}

// key is the name of one metric as it goes to graphite: the sanitized name
// with its tags, and where the tags start.
type key struct {
	name  string
	split int // index of the first ';', or len(name)
}

func newKey(name string) key {
	split := strings.IndexByte(name, ';')
	if split < 0 {
		split = len(name)
	}
	return key{name: name, split: split}
}

// sanitize rewrites a name as statsd's keyNameSanitize does: each run of
// white space (JavaScript's \s) becomes "_", "/" becomes "-", and every
// character other than ASCII letters, digits and _-.;= is removed.
func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if !keyByte(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	space := false
	for _, r := range s {
		if jsSpace(r) {
			if !space {
				b = append(b, '_')
			}
			space = true
			continue
		}
		space = false
		switch {
		case r == '/':
			b = append(b, '-')
		case r < utf8.RuneSelf && keyByte(byte(r)):
			b = append(b, byte(r))
		}
	}
	return string(b)
}

// keyByte reports whether statsd keeps c in a name as it is.
func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == ';' || c == '='
}

// jsSpace reports whether JavaScript's \s matches r.
func jsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return 0x2000 <= r && r <= 0x200a
}

// appendNumber appends v as JavaScript's Number.prototype.toString writes
// it, which is what statsd sends to graphite: the shortest decimal that
// reads back as v, in fixed notation from 1e-6 up to 1e21 and as
// "1.5e+21" or "1e-7" outside it.
func appendNumber(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(v, -1):
		return append(dst, "-Infinity"...)
	case v == 0:
		return append(dst, '0')
	}
	if a := math.Abs(v); a >= 1e-6 && a < 1e21 {
		return strconv.AppendFloat(dst, v, 'f', -1, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, v, 'e', -1, 64)
	// Go writes at least two exponent digits ("1e-07"); JavaScript does not.
	e := start + strings.IndexByte(string(dst[start:]), 'e')
	digits := e + 2
	if dst[digits] == '0' {
		copy(dst[digits:], dst[digits+1:])
		dst = dst[:len(dst)-1]
	}
	return dst
}

// numberName is a number as statsd puts it into a name: JavaScript's text
// with the first "." made "_" and the first "-" made "top" (percentiles
// and histogram bins).
func numberName(v float64) string {
	if math.IsInf(v, 1) {
		return "inf"
	}
	s := string(appendNumber(nil, v))
	s = strings.Replace(s, ".", "_", 1)
	return strings.Replace(s, "-", "top", 1)
}
