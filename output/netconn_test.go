package output

import "testing"

func TestDatagramEnd(t *testing.T) {
	for _, tc := range []struct {
		buf  string
		max  int
		want int
	}{
		{"a 1 1\n", 100, 6},
		{"a 1 1\nb 2 2\n", 6, 6},
		{"a 1 1\nb 2 2\n", 11, 6},
		{"a 1 1\nb 2 2\n", 12, 12},
		{"aaaaaaaaaa 1 1\nb 2 2\n", 6, 15},
		{"a 1 1\nbbbbbbbbbbbb 2 2\n", 10, 6},
		{"a:1|c\n", 100, 6},
		{"a:1|c\nb:2|c\n", 6, 6},
		{"a:1|c\nb:2|c\n", 11, 6},
		{"a:1|c\nb:2|c\n", 12, 12},
		{"aaaaaaaaaa:1|c\nb:2|c\n", 6, 15},
	} {
		if got := datagramEnd([]byte(tc.buf), tc.max); got != tc.want {
			t.Errorf("datagramEnd(%q, %d) = %d, want %d", tc.buf, tc.max, got, tc.want)
		}
	}
}
