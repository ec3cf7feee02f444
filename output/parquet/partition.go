package parquet

import (
	"hash/fnv"
	"strconv"
	"time"

	"github.com/metlog/metlog"
)

// defaultPartition is the partition value of an empty type, as Hive and
// Spark name the partition of a null or empty value.
const defaultPartition = "__HIVE_DEFAULT_PARTITION__"

// maxTypeLen bounds the escaped type in a directory name, well inside the
// 255 bytes file systems allow for one path element.
const maxTypeLen = 200

// partitionOf returns the Hive-style directory of m, relative to the output
// directory: "type=T/date=YYYY-MM-DD/hour=HH", with the date and hour of the
// message timestamp in UTC.
func partitionOf(m *metlog.Message) string {
	t := time.Unix(0, m.Timestamp).UTC()
	b := make([]byte, 0, 48+len(m.Type))
	b = append(b, "type="...)
	b = appendTypeValue(b, m.Type)
	b = append(b, "/date="...)
	b = t.AppendFormat(b, "2006-01-02")
	b = append(b, "/hour="...)
	b = t.AppendFormat(b, "15")
	return string(b)
}

// appendTypeValue writes typ as a path-safe partition value. Letters,
// digits, '_', '-' and '.' are kept; every other byte is written as %XX,
// the escaping Hive uses and engines undo when they read partition values
// (so "a/b" reads back as "a/b"). An empty type is defaultPartition. An
// escaped value longer than maxTypeLen is cut and given a hash suffix
// ("~" and 16 hex digits) so that distinct long types stay apart; the
// type column of the file always holds the type exactly.
func appendTypeValue(dst []byte, typ string) []byte {
	if typ == "" {
		return append(dst, defaultPartition...)
	}
	start := len(dst)
	dst = appendEscaped(dst, typ)
	if len(dst)-start <= maxTypeLen {
		return dst
	}
	// Cut at a character boundary, leaving room for the suffix.
	dst = dst[:start]
	for _, r := range typ {
		n := len(dst)
		dst = appendEscaped(dst, string(r))
		if len(dst)-start > maxTypeLen-17 {
			dst = dst[:n]
			break
		}
	}
	h := fnv.New64a()
	h.Write([]byte(typ))
	dst = append(dst, '~')
	return strconv.AppendUint(dst, h.Sum64()|1<<63, 16)
}

func appendEscaped(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safeByte(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return dst
}

func safeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-' || c == '.'
}
