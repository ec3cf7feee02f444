package nats

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/metlog/metlog"
)

// Subject is a parsed subject template such as "metlog.{type}.{shard}":
// literal text and placeholders, each replaced by one subject token taken
// from the message.
//
//	{type}      the message's Type
//	{logger}    its Logger
//	{hostname}  its Hostname
//	{severity}  its Severity, as a number 0–7
//	{shard}     Shard(ShardKey(m, field), shards): 0 … shards-1
//
// A value is made a valid token: '.', '*', '>' and spaces and control
// characters become '_', and an empty value becomes "_". So a message's
// subject always has as many tokens as the template.
type Subject struct {
	parts  []part
	field  string // the field whose value picks the shard
	shards int
}

type part struct {
	lit string // literal text, when key is 0
	key byte   // 't'ype, 'l'ogger, 'h'ostname, 's'everity, 'S'hard
}

var placeholders = map[string]byte{"type": 't', "logger": 'l', "hostname": 'h', "severity": 's', "shard": 'S'}

// ParseSubject parses template. shards is the number of shards {shard}
// counts (1 means no sharding) and field the message field whose first
// string value picks the shard (the Logger when the message has none).
func ParseSubject(template string, shards int, field string) (*Subject, error) {
	if shards < 1 {
		return nil, fmt.Errorf("shards %d: want at least 1", shards)
	}
	s := &Subject{field: field, shards: shards}
	sharded := false
	rest := template
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			s.parts = append(s.parts, part{lit: rest})
			break
		}
		if i > 0 {
			s.parts = append(s.parts, part{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("subject %q: unclosed {", template)
		}
		name := rest[i+1 : i+j]
		key, ok := placeholders[name]
		if !ok {
			return nil, fmt.Errorf("subject %q: unknown placeholder {%s} (want type, logger, hostname, severity or shard)", template, name)
		}
		sharded = sharded || key == 'S'
		s.parts = append(s.parts, part{key: key})
		rest = rest[i+j+1:]
	}
	for _, p := range s.parts {
		if p.key != 0 {
			continue
		}
		for i := 0; i < len(p.lit); i++ {
			if c := p.lit[i]; c <= ' ' || c == 0x7f || c == '*' || c == '>' || c == '}' {
				return nil, fmt.Errorf("subject %q: literal text may not hold wildcards, spaces, control characters or braces", template)
			}
		}
	}
	// Every token must be non-empty: check with a message whose values are
	// all one character.
	probe := string(s.Append(nil, &metlog.Message{Type: "t", Logger: "l", Hostname: "h"}))
	if probe == "" || strings.HasPrefix(probe, ".") || strings.HasSuffix(probe, ".") || strings.Contains(probe, "..") {
		return nil, fmt.Errorf("subject %q: empty token", template)
	}
	if shards > 1 && !sharded {
		return nil, fmt.Errorf("subject %q: shards is %d but the template has no {shard}", template, shards)
	}
	return s, nil
}

// Append appends the subject of m to dst.
func (s *Subject) Append(dst []byte, m *metlog.Message) []byte {
	for _, p := range s.parts {
		switch p.key {
		case 0:
			dst = append(dst, p.lit...)
		case 't':
			dst = appendToken(dst, m.Type)
		case 'l':
			dst = appendToken(dst, m.Logger)
		case 'h':
			dst = appendToken(dst, m.Hostname)
		case 's':
			dst = strconv.AppendInt(dst, int64(m.Severity), 10)
		case 'S':
			dst = strconv.AppendInt(dst, int64(Shard(ShardKey(m, s.field), s.shards)), 10)
		}
	}
	return dst
}

// appendToken appends v as one subject token.
func appendToken(dst []byte, v string) []byte {
	if v == "" {
		return append(dst, '_')
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c == '.' || c == '*' || c == '>' || c == 0x7f {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// ShardKey is what picks a message's shard: the first string value of its
// field named field (for metrics, "name": the metric name), or its Logger
// when it has no such string field.
func ShardKey(m *metlog.Message, field string) string {
	if field != "" {
		if f := m.Field(field); f != nil && len(f.Strings) > 0 {
			return f.Strings[0]
		}
	}
	return m.Logger
}

// Shard maps key to one of n shards: the 32-bit FNV-1a hash of its bytes,
// modulo n. Every router computes the same shard for the same key, so all
// the values of one metric name reach the same aggregating router.
func Shard(key string, n int) int {
	if n <= 1 {
		return 0
	}
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}
