package tail

import (
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// encoding splits a file's bytes into lines and converts them to UTF-8.
type encoding struct {
	// unit is the size of a code unit; lines start at multiples of it.
	unit int
	// newline returns the index of the first newline in b, which starts at
	// a line boundary, or -1.
	newline func(b []byte) int
	// text converts a line, without its newline, to valid UTF-8.
	text func(b []byte) string
	// cut returns how many leading bytes of b, longer than a line may be,
	// to keep: whole characters.
	cut func(b []byte, max int) int
}

var encodings = map[string]encoding{
	"utf-8":    {unit: 1, newline: newline8, text: utf8Text, cut: utf8Cut},
	"latin-1":  {unit: 1, newline: newline8, text: latin1Text, cut: byteCut},
	"utf-16le": {unit: 2, newline: newline16(false), text: utf16Text(false), cut: utf16Cut(false)},
	"utf-16be": {unit: 2, newline: newline16(true), text: utf16Text(true), cut: utf16Cut(true)},
}

func newline8(b []byte) int { return bytes.IndexByte(b, '\n') }

func utf8Text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func utf8Cut(b []byte, max int) int {
	if max >= len(b) {
		return len(b)
	}
	n := max
	for n > 0 && n > max-utf8.UTFMax && !utf8.RuneStart(b[n]) {
		n--
	}
	return n
}

func byteCut(_ []byte, max int) int { return max }

// latin1Text maps each byte to the code point of the same number.
func latin1Text(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/8)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

func unit16(b []byte, big bool) uint16 {
	if big {
		return uint16(b[0])<<8 | uint16(b[1])
	}
	return uint16(b[1])<<8 | uint16(b[0])
}

func newline16(big bool) func([]byte) int {
	return func(b []byte) int {
		for i := 0; i+1 < len(b); i += 2 {
			if unit16(b[i:], big) == '\n' {
				return i
			}
		}
		return -1
	}
}

func utf16Text(big bool) func([]byte) string {
	return func(b []byte) string {
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = unit16(b[2*i:], big)
		}
		s := string(utf16.Decode(u))
		if len(b)%2 == 1 {
			s += "\uFFFD"
		}
		return s
	}
}

func utf16Cut(big bool) func([]byte, int) int {
	return func(b []byte, max int) int {
		n := max &^ 1
		// Do not split a surrogate pair.
		if n >= 2 && utf16.IsSurrogate(rune(unit16(b[n-2:], big))) && unit16(b[n-2:], big) < 0xDC00 {
			n -= 2
		}
		return n
	}
}
