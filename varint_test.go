package metlog

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzPbVarint checks the word-at-a-time varint reader against the
// byte-at-a-time one, at every offset of the input.
func FuzzPbVarint(f *testing.F) {
	for _, seed := range [][]byte{
		{0x80, 0x01},
		binary.AppendUvarint(nil, 1767323045000000000),
		binary.AppendUvarint(nil, math.MaxUint64),
		binary.AppendUvarint([]byte{0xff, 0xff}, 1<<56),
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := range b {
			v, j, ok := pbVarintLong(b, i)
			wv, wj, wok := pbVarintSlow(b, i)
			if ok != wok || ok && (v != wv || j != wj) {
				t.Fatalf("at %d of % x: got %d, %d, %v; want %d, %d, %v", i, b, v, j, ok, wv, wj, wok)
			}
		}
	})
}
