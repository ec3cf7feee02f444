package journal

import (
	"encoding/binary"
	"hash/crc32"
)

// MaxRecordSize is the largest record the journal accepts, in bytes. It is
// Heka's MAX_MESSAGE_SIZE, so every segment stays readable by Heka's own
// stream splitter.
const MaxRecordSize = 64 << 10

// Heka stream framing: recordSeparator, header length byte, Header protobuf,
// unitSeparator, record bytes.
const (
	recordSeparator = 0x1E
	unitSeparator   = 0x1F
)

// Header protobuf tags: field 1 message_length (varint) is Heka's; field 15
// is the journal's CRC-32C of the record bytes (fixed32). Heka's decoder
// skips fields it does not know.
const (
	tagLength = 1 << 3    // field 1, wire type 0 (varint)
	tagCRC    = 15<<3 | 5 // field 15, wire type 5 (fixed32)
	fieldCRC  = 15
)

// maxHeaderLen is the longest header the journal writes: tag + 3-byte varint
// length, tag + 4-byte CRC.
const maxHeaderLen = 1 + 3 + 1 + 4

// maxFrameLen is the longest framed record the journal writes.
const maxFrameLen = 3 + maxHeaderLen + MaxRecordSize

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameLen returns the framed size of a record of n bytes.
func frameLen(n int) int {
	return 3 + 1 + uvarintLen(uint64(n)) + 5 + n
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// appendFrame appends rec to b as a Heka stream record carrying the CRC-32C
// of rec in header field 15. len(rec) must not exceed MaxRecordSize.
func appendFrame(b []byte, rec []byte) []byte {
	sum := crc32.Checksum(rec, castagnoli)
	hlen := 1 + uvarintLen(uint64(len(rec))) + 5
	b = append(b, recordSeparator, byte(hlen), tagLength)
	b = binary.AppendUvarint(b, uint64(len(rec)))
	b = append(b, tagCRC)
	b = binary.LittleEndian.AppendUint32(b, sum)
	b = append(b, unitSeparator)
	return append(b, rec...)
}

// scanResult says what scanFrame found at the start of a buffer.
type scanResult uint8

const (
	// frameOK: a complete record with a matching checksum.
	frameOK scanResult = iota
	// frameShort: the bytes so far are a plausible prefix of a record;
	// more are needed to decide.
	frameShort
	// frameBad: no valid record starts at the first byte.
	frameBad
)

// scanFrame looks for a framed record at the start of b. With frameOK it
// returns the record bytes (a sub-slice of b) and the framed length. With
// frameBad the caller skips to the next record separator after b[0] (see
// resync) and tries again; that is how Heka's splitter resynchronises, byte
// by byte, so a corrupt length can never make it jump over good records.
func scanFrame(b []byte) (rec []byte, n int, res scanResult) {
	if len(b) < 2 {
		if len(b) == 1 && b[0] != recordSeparator {
			return nil, 0, frameBad
		}
		return nil, 0, frameShort
	}
	if b[0] != recordSeparator {
		return nil, 0, frameBad
	}
	hlen := int(b[1])
	if hlen == 0 {
		return nil, 0, frameBad
	}
	if len(b) < 3+hlen {
		return nil, 0, frameShort
	}
	if b[2+hlen] != unitSeparator {
		return nil, 0, frameBad
	}
	size, sum, ok := parseHeader(b[2 : 2+hlen])
	if !ok {
		return nil, 0, frameBad
	}
	n = 3 + hlen + size
	if len(b) < n {
		return nil, 0, frameShort
	}
	rec = b[3+hlen : n]
	if crc32.Checksum(rec, castagnoli) != sum {
		return nil, 0, frameBad
	}
	return rec, n, frameOK
}

// resync returns the offset in b of the next record separator after b[0],
// or len(b) when there is none.
func resync(b []byte) int {
	for i := 1; i < len(b); i++ {
		if b[i] == recordSeparator {
			return i
		}
	}
	return len(b)
}

// parseHeader decodes a Header protobuf: message_length (required, at most
// MaxRecordSize) and the journal's CRC field (required). Other fields are
// skipped, as Heka's decoder skips the journal's.
func parseHeader(h []byte) (size int, sum uint32, ok bool) {
	var haveSize, haveSum bool
	for len(h) > 0 {
		tag, n := binary.Uvarint(h)
		if n <= 0 {
			return 0, 0, false
		}
		h = h[n:]
		field, wire := tag>>3, tag&7
		switch {
		case field == 1 && wire == 0:
			v, n := binary.Uvarint(h)
			if n <= 0 || v > MaxRecordSize {
				return 0, 0, false
			}
			size, haveSize = int(v), true
			h = h[n:]
		case field == fieldCRC && wire == 5:
			if len(h) < 4 {
				return 0, 0, false
			}
			sum, haveSum = binary.LittleEndian.Uint32(h), true
			h = h[4:]
		default:
			var skip int
			switch wire {
			case 0:
				_, skip = binary.Uvarint(h)
				if skip <= 0 {
					return 0, 0, false
				}
			case 1:
				skip = 8
			case 2:
				l, n := binary.Uvarint(h)
				if n <= 0 || l > uint64(len(h)-n) {
					return 0, 0, false
				}
				skip = n + int(l)
			case 5:
				skip = 4
			default:
				return 0, 0, false
			}
			if skip > len(h) {
				return 0, 0, false
			}
			h = h[skip:]
		}
	}
	return size, sum, haveSize && haveSum
}
