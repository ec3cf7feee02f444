package metlog

import (
	"bufio"
	"bytes"
)

// ParseAckForTest runs the reliable sender's ack parsing over b, for
// fuzzing; it must never panic.
func ParseAckForTest(b []byte) {
	parseAck(b)
	readHekaRecord(bufio.NewReader(bytes.NewReader(b)))
}

// LikeHits returns how many records e wrote by comparison with the last.
func (e *JSONProtobufEncoder) LikeHits() int { return e.hits }
