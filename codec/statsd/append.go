package statsd

import "strconv"

// Append writes m to dst as one line, without a newline, and returns the
// extended slice. The sections come in a fixed order: rate (only when it is
// not 1), tags (a tag with an empty value written bare), timestamp,
// container ID. Append does not check m: a Metric that Parse did not
// produce may give a line that Parse rejects.
func Append(dst []byte, m *Metric) []byte {
	dst = append(dst, m.Name...)
	dst = append(dst, ':')
	dst = append(dst, m.Value...)
	dst = append(dst, '|')
	dst = append(dst, m.Type.String()...)
	if m.Rate != 1 && m.Rate != 0 {
		dst = append(dst, '|', '@')
		dst = strconv.AppendFloat(dst, m.Rate, 'g', -1, 64)
	}
	for i, t := range m.Tags {
		if i == 0 {
			dst = append(dst, '|', '#')
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, t.Key...)
		if len(t.Value) > 0 {
			dst = append(dst, ':')
			dst = append(dst, t.Value...)
		}
	}
	if m.Timestamp != 0 {
		dst = append(dst, '|', 'T')
		dst = strconv.AppendInt(dst, m.Timestamp, 10)
	}
	if len(m.ContainerID) > 0 {
		dst = append(dst, '|', 'c', ':')
		dst = append(dst, m.ContainerID...)
	}
	return dst
}
