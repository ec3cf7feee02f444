package metlogjson

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// minuteCache remembers the date, hour and minute of the last timestamp
// parseTimestamp read ("YYYY-MM-DDThh:mm") and the seconds since the epoch
// they stand for, so that timestamps from the same minute, as a stream
// mostly has, skip the calendar arithmetic.
type minuteCache struct {
	prefix [2]uint64 // the 16 bytes, little-endian, compared as two words
	secs   int64
	ok     bool
}

// parseTimestamp reads an RFC 3339 timestamp, as metlog clients write
// them, into nanoseconds since the Unix epoch:
//
//	YYYY-MM-DD ('T' | 't' | ' ') hh:mm:ss [ '.' 1-9 digits ] [ 'Z' | 'z' | ±hh:mm | ±hhmm ]
//
// No zone means UTC (metlog-py before 0.9 wrote datetime.utcnow() that
// way). It reports false for anything else, and for times outside the
// range of int64 nanoseconds (1677-09-21 to 2262-04-11). mc remembers the
// last minute read.
func parseTimestamp(b []byte, mc *minuteCache) (int64, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	if c := b[10]; c != 'T' && c != 't' && c != ' ' {
		return 0, false
	}
	var minuteSecs int64 // seconds from the epoch to the minute, in the zone
	prefix := [2]uint64{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:16])}
	if mc.ok && prefix == mc.prefix {
		minuteSecs = mc.secs
	} else {
		year, ok1 := atoiN(b[0:4])
		month, ok2 := atoiN(b[5:7])
		day, ok3 := atoiN(b[8:10])
		hour, ok4 := atoiN(b[11:13])
		minute, ok5 := atoiN(b[14:16])
		if !(ok1 && ok2 && ok3 && ok4 && ok5) ||
			month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
			hour > 23 || minute > 59 {
			return 0, false
		}
		minuteSecs = daysFromCivil(int64(year), month, day)*86400 + int64(hour*3600+minute*60)
		mc.prefix = prefix
		mc.secs, mc.ok = minuteSecs, true
	}
	sec, ok := atoiN(b[17:19])
	if !ok || sec > 60 {
		return 0, false
	}
	b = b[19:]

	var frac int64
	if len(b) > 0 && b[0] == '.' {
		var n int
		if frac, n, ok = fraction(b); !ok {
			return 0, false
		}
		b = b[n:]
	}

	var offset int64 // seconds east of UTC
	switch {
	case len(b) == 0:
	case len(b) == 1 && (b[0] == 'Z' || b[0] == 'z'):
	case len(b) == 6 && (b[0] == '+' || b[0] == '-') && b[3] == ':',
		len(b) == 5 && (b[0] == '+' || b[0] == '-'):
		oh, ok1 := atoiN(b[1:3])
		om, ok2 := atoiN(b[len(b)-2:])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = int64(oh*3600 + om*60)
		if b[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}

	secs := minuteSecs + int64(sec) - offset
	return secondsToNanos(secs, frac)
}

// fraction reads the fraction of a second at b, which starts with the
// decimal point, as nanoseconds, and returns it and the length of the
// fraction, point included. It reports false for no digits or more than
// nine.
func fraction(b []byte) (frac int64, n int, ok bool) {
	if len(b) >= 8 {
		// Up to six digits (metlog-py's microseconds) and the byte after
		// them fit the word at the point: read them all at once, the point
		// as a leading zero.
		const ones = 0x0101010101010101
		x := binary.LittleEndian.Uint64(b)&^0xff | '0'
		if m := nonDigits(x); m != 0 {
			k := bits.TrailingZeros64(m) / 8 // the point and the digits
			if k == 1 {
				return 0, 0, false
			}
			v := eightDigits((x - '0'*ones) << (64 - 8*k))
			return int64(v) * pow10[10-k], k, true
		}
	}
	return fractionDigits(b)
}

// fractionDigits is fraction reading a digit at a time.
func fractionDigits(b []byte) (frac int64, n int, ok bool) {
	n = 1
	for ; n < len(b) && b[n]-'0' <= 9; n++ {
		if n <= 9 {
			frac = frac*10 + int64(b[n]-'0')
		}
	}
	digits := n - 1
	if digits < 1 || digits > 9 {
		return 0, 0, false
	}
	return frac * pow10[9-digits], n, true
}

// nonDigits returns the high bit of each byte of x that is not an ASCII
// decimal digit.
func nonDigits(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	a := x ^ '0'*ones                                       // digits are 0-9 now
	t := a&(0xf0*ones) | (a&(0x0f*ones)+6*ones)&(0x10*ones) // nonzero bytes are not digits
	return (t&(0x7f*ones) + 0x7f*ones | t) & highs
}

// eightDigits returns the number whose decimal digits, most significant
// first, are the bytes of x from the lowest (each 0 to 9).
func eightDigits(x uint64) uint64 {
	x = x*10 + x>>8 // pairs of digits in the even bytes
	return ((x&0x000000ff000000ff)*(100+1000000<<32) + (x>>16&0x000000ff000000ff)*(1+10000<<32)) >> 32
}

// pow10 holds the powers of ten that fit an int64 fraction of a second.
var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// secondsToNanos returns secs*1e9 + frac (0 <= frac < 1e9), or false when
// that does not fit an int64.
func secondsToNanos(secs, frac int64) (int64, bool) {
	const (
		minSecs int64 = math.MinInt64/1_000_000_000 - 1 // -9223372037
		maxSecs int64 = math.MaxInt64 / 1_000_000_000   // 9223372036
	)
	switch {
	case secs < minSecs || secs > maxSecs:
		return 0, false
	case secs == minSecs:
		// MinInt64 = minSecs*1e9 + rem.
		const rem = 145224192
		if frac < rem {
			return 0, false
		}
		return math.MinInt64 + (frac - rem), true
	}
	ns := secs*1e9 + frac
	if secs >= 0 && ns < 0 {
		return 0, false
	}
	return ns, true
}

// atoiN reads a fixed number of decimal digits.
func atoiN(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// proleptic Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// numericTimestamp reads a timestamp sent as a JSON number (metlog-node
// passes a non-Date timestamp through as given; Heka writes nanoseconds).
// The unit is chosen by magnitude: below 1e11 seconds, below 1e14
// milliseconds, below 1e17 microseconds, else nanoseconds. Fractions are
// exact (the number's decimal text is used, not a float); digits below the
// nanosecond are dropped. It reports false for NaN, infinities and values
// beyond the range of int64 nanoseconds.
func numericTimestamp(text []byte) (int64, bool) {
	i := 0
	neg := false
	if text[0] == '-' {
		neg = true
		i++
	}
	if i < len(text) && (text[i] == 'N' || text[i] == 'I') {
		return 0, false
	}
	// The value is digits × 10^exp, digits without leading zeros.
	var digits [40]byte
	nd, exp := 0, 0
	add := func(c byte, frac bool) {
		switch {
		case nd == 0 && c == '0':
			if frac {
				exp--
			}
		case nd < len(digits):
			digits[nd] = c - '0'
			nd++
			if frac {
				exp--
			}
		case !frac:
			exp++ // a digit beyond the precision kept, before the point
		}
	}
	for ; i < len(text) && text[i] >= '0' && text[i] <= '9'; i++ {
		add(text[i], false)
	}
	if i < len(text) && text[i] == '.' {
		for i++; i < len(text) && text[i] >= '0' && text[i] <= '9'; i++ {
			add(text[i], true)
		}
	}
	if i < len(text) && (text[i] == 'e' || text[i] == 'E') {
		i++
		eneg := false
		if text[i] == '+' || text[i] == '-' {
			eneg = text[i] == '-'
			i++
		}
		e := 0
		for ; i < len(text); i++ {
			if e < 100000 {
				e = e*10 + int(text[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if nd == 0 {
		return 0, true
	}
	scale := 0
	switch mag := nd + exp; {
	case mag <= 11:
		scale = 9
	case mag <= 14:
		scale = 6
	case mag <= 17:
		scale = 3
	}
	keep := nd + exp + scale // digits of the value in nanoseconds
	if keep <= 0 {
		return 0, true
	}
	if keep > 19 {
		return 0, false
	}
	var u uint64
	for k := range keep {
		u *= 10
		if k < nd {
			u += uint64(digits[k])
		}
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}
