package clickhouse

import (
	"fmt"
	"math"
	"strings"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/match"
)

// translate writes a matcher expression as a ClickHouse condition over the
// table's columns. The condition selects a superset of what the expression
// matches: comparisons it cannot decide (regular expressions, payloads,
// most fields) become 1, and then exact is false and every row must also
// pass the Go matcher. The language has no negation (!= and !~ are
// comparisons of their own), so widening a comparison only ever widens
// the whole.
func translate(n match.Node) (where string, exact bool) {
	var b strings.Builder
	exact = node(&b, n)
	return b.String(), exact
}

func node(b *strings.Builder, n match.Node) bool {
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
		l := node(b, n.Left)
		b.WriteString(" AND ")
		r := node(b, n.Right)
		b.WriteByte(')')
		return l && r
	case *match.Or:
		b.WriteByte('(')
		l := node(b, n.Left)
		b.WriteString(" OR ")
		r := node(b, n.Right)
		b.WriteByte(')')
		return l && r
	case *match.Compare:
		if compare(b, n) {
			return true
		}
	}
	b.WriteString("1")
	return false
}

var sqlOps = [...]string{match.Eq: "=", match.Ne: "!=", match.Lt: "<", match.Le: "<=", match.Gt: ">", match.Ge: ">="}

// compare writes an exact translation of c and returns true, or writes
// nothing and returns false.
func compare(b *strings.Builder, c *match.Compare) bool {
	op, v := c.Op, c.Value
	if op < match.Eq || op > match.Ge {
		return false // =~ and !~
	}
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
		col = "timestamp"
	case match.VarUuid:
		return uuid(b, op, v)
	case match.VarField:
		// The name column holds the first value of the first "name"
		// field when it is a string or bytes, and is NULL otherwise; a
		// comparison with NULL is never true, as the matcher's with a
		// missing or non-string field is not.
		if c.Var.Field != "name" || c.Var.FieldIndex != 0 || c.Var.ArrayIndex != 0 || v.Kind != match.ValueString {
			return false
		}
		fmt.Fprintf(b, "ifNull(name %s %s, 0)", sqlOps[op], quote(v.Str))
		return true
	default:
		return false
	}
	switch v.Kind {
	case match.ValueString:
		if col == "severity" || col == "pid" || col == "timestamp" {
			return false
		}
		fmt.Fprintf(b, "%s %s %s", col, sqlOps[op], quote(v.Str))
		return true
	case match.ValueTime:
		if col != "timestamp" {
			return false
		}
		fmt.Fprintf(b, "%s %s %d", col, sqlOps[op], v.Int)
		return true
	case match.ValueNumber:
		if col != "severity" && col != "pid" && col != "timestamp" {
			return false
		}
		if v.IsInt {
			fmt.Fprintf(b, "%s %s %d", col, sqlOps[op], v.Int)
			return true
		}
		return float(b, col, op, v.Float)
	}
	return false
}

// float compares an integer column with a non-integral (or huge) literal
// by rounding the literal the way the comparison allows.
func float(b *strings.Builder, col string, op match.Op, f float64) bool {
	const lim = 1 << 62
	if math.IsNaN(f) || f < -lim || f > lim {
		return false
	}
	fl, ce := math.Floor(f), math.Ceil(f)
	if fl == f {
		fmt.Fprintf(b, "%s %s %d", col, sqlOps[op], int64(f))
		return true
	}
	switch op {
	case match.Eq:
		b.WriteString("0")
	case match.Ne:
		b.WriteString("1")
	case match.Lt, match.Le:
		fmt.Fprintf(b, "%s <= %d", col, int64(fl))
	case match.Gt, match.Ge:
		fmt.Fprintf(b, "%s >= %d", col, int64(ce))
	}
	return true
}

// uuid translates an equality with a canonical UUID; the matcher compares
// the canonical lower-case text.
func uuid(b *strings.Builder, op match.Op, v match.Value) bool {
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
	fmt.Fprintf(b, "uuid %s unhex('%X')", sqlOps[op], u[:])
	return true
}
