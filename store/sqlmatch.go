package store

import (
	"math"
	"strings"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/match"
)

// sqlFilter is a matcher expression translated to a WHERE clause over the
// messages table. The clause selects a superset of what the expression
// matches: comparisons SQL cannot decide (regular expressions, payloads,
// most fields) become TRUE there, and then exact is false and every row
// must also pass the Go matcher. The expression has no negation (the
// language has none, and != and !~ are comparisons of their own), so
// widening a comparison only ever widens the whole.
type sqlFilter struct {
	where string
	args  []any
	exact bool
}

// translate builds the SQL for n.
func translate(n match.Node) sqlFilter {
	var t sqlFilter
	var b strings.Builder
	t.exact = t.node(&b, n)
	t.where = b.String()
	return t
}

// node writes n and reports whether it is exact.
func (t *sqlFilter) node(b *strings.Builder, n match.Node) bool {
	switch n := n.(type) {
	case *match.Const:
		if n.Value {
			b.WriteString("1")
		} else {
			b.WriteString("0")
		}
		return true
	case *match.And:
		b.WriteByte('(')
		l := t.node(b, n.Left)
		b.WriteString(" AND ")
		r := t.node(b, n.Right)
		b.WriteByte(')')
		return l && r
	case *match.Or:
		b.WriteByte('(')
		l := t.node(b, n.Left)
		b.WriteString(" OR ")
		r := t.node(b, n.Right)
		b.WriteByte(')')
		return l && r
	case *match.Compare:
		if t.compare(b, n) {
			return true
		}
	}
	b.WriteString("1")
	return false
}

var sqlOps = [...]string{match.Eq: "=", match.Ne: "<>", match.Lt: "<", match.Le: "<=", match.Gt: ">", match.Ge: ">="}

// compare writes an exact translation of c and returns true, or writes
// nothing and returns false.
func (t *sqlFilter) compare(b *strings.Builder, c *match.Compare) bool {
	op, v := c.Op, c.Value
	relational := op >= match.Eq && op <= match.Ge
	col := ""
	switch c.Var.Kind {
	case match.VarType:
		col = "type"
	case match.VarLogger:
		col = "logger"
	case match.VarHostname:
		col = "hostname"
	case match.VarSeverity:
		col = "severity"
	case match.VarPid:
		col = "pid"
	case match.VarTimestamp:
		col = "ts"
	case match.VarUuid:
		return t.uuid(b, op, v)
	case match.VarField:
		// The name column holds the first value of the first "name"
		// field when it is a string or bytes, and is NULL otherwise, so
		// a string comparison with it is exactly the matcher's.
		if c.Var.Field != "name" || c.Var.FieldIndex != 0 || c.Var.ArrayIndex != 0 ||
			v.Kind != match.ValueString || !relational {
			return false
		}
		col = "name"
	default:
		return false
	}
	if !relational {
		return false
	}
	switch v.Kind {
	case match.ValueString:
		t.emit(b, col, sqlOps[op], v.Str)
		return true
	case match.ValueTime:
		t.emit(b, col, sqlOps[op], v.Int)
		return true
	case match.ValueNumber:
		if v.IsInt {
			t.emit(b, col, sqlOps[op], v.Int)
			return true
		}
		return t.float(b, col, op, v.Float)
	}
	return false
}

func (t *sqlFilter) emit(b *strings.Builder, col, op string, arg any) {
	b.WriteString(col)
	b.WriteByte(' ')
	b.WriteString(op)
	b.WriteString(" ?")
	t.args = append(t.args, arg)
}

// float compares an integer column with a non-integral (or huge) literal
// by rounding the literal the way the comparison allows.
func (t *sqlFilter) float(b *strings.Builder, col string, op match.Op, f float64) bool {
	const lim = 1 << 62
	if math.IsNaN(f) || f < -lim || f > lim {
		return false
	}
	fl, ce := math.Floor(f), math.Ceil(f)
	if fl == f {
		t.emit(b, col, sqlOps[op], int64(f))
		return true
	}
	switch op {
	case match.Eq:
		b.WriteString("0")
	case match.Ne:
		b.WriteString("1")
	case match.Lt, match.Le:
		t.emit(b, col, "<=", int64(fl))
	case match.Gt, match.Ge:
		t.emit(b, col, ">=", int64(ce))
	}
	return true
}

// uuid translates an equality with a canonical UUID; the matcher compares
// the canonical lower-case text, which orders as the 16 bytes do.
func (t *sqlFilter) uuid(b *strings.Builder, op match.Op, v match.Value) bool {
	if v.Kind != match.ValueString || (op != match.Eq && op != match.Ne) {
		return false
	}
	u, err := metlog.ParseUUID(v.Str)
	if err != nil || u.String() != v.Str {
		if op == match.Eq {
			b.WriteString("0")
		} else {
			b.WriteString("1")
		}
		return true
	}
	t.emit(b, "uuid", sqlOps[op], u[:])
	return true
}
