package match

import (
	"math/big"
	"regexp"
	"sync"

	"github.com/metlog/metlog"
)

// refEval is a deliberately plain evaluator of a parsed tree, written from
// the package documentation and independent of the compiler: no constant
// folding, no regexp shortcuts, exact arithmetic through math/big. Tests
// and fuzz targets check Matcher.Match against it.
func refEval(n Node, m *metlog.Message) bool {
	switch n := n.(type) {
	case *Const:
		return n.Value
	case *And:
		return refEval(n.Left, m) && refEval(n.Right, m)
	case *Or:
		return refEval(n.Left, m) || refEval(n.Right, m)
	case *Compare:
		return refCompare(n, m)
	}
	panic("refEval: unknown node")
}

func refCompare(c *Compare, m *metlog.Message) bool {
	var val any // string, []byte, int64, float64, bool; nil when missing
	switch c.Var.Kind {
	case VarUuid:
		val = m.UUID.String()
	case VarType:
		val = m.Type
	case VarLogger:
		val = m.Logger
	case VarPayload:
		val = m.Payload
	case VarEnvVersion:
		val = m.EnvVersion
	case VarHostname:
		val = m.Hostname
	case VarTimestamp:
		val = m.Timestamp
	case VarSeverity:
		val = int64(m.Severity)
	case VarPid:
		val = int64(m.Pid)
	case VarField:
		var seen int
		for i := range m.Fields {
			f := &m.Fields[i]
			if f.Name != c.Var.Field {
				continue
			}
			if seen == c.Var.FieldIndex {
				val = f.Value(c.Var.ArrayIndex)
				break
			}
			seen++
		}
	}
	if c.Value.Kind == ValueNil {
		return (val == nil) == (c.Op == Eq)
	}
	switch v := val.(type) {
	case []byte:
		return refString(string(v), c)
	case string:
		return refString(v, c)
	case int64:
		return refNumber(new(big.Float).SetInt64(v), c)
	case float64:
		if v != v {
			return c.Value.Kind == ValueNumber && c.Op == Ne
		}
		return refNumber(new(big.Float).SetFloat64(v), c)
	case bool:
		if c.Value.Kind != ValueBool {
			return false
		}
		return (v == c.Value.Bool) == (c.Op == Eq)
	}
	return false
}

var refRegexps sync.Map // source → *regexp.Regexp

func refString(s string, c *Compare) bool {
	switch c.Value.Kind {
	case ValueString:
		return refOrder(compareStrings(s, c.Value.Str), c.Op)
	case ValueRegexp:
		re, ok := refRegexps.Load(c.Value.Str)
		if !ok {
			re, _ = refRegexps.LoadOrStore(c.Value.Str, regexp.MustCompile(c.Value.Str))
		}
		return re.(*regexp.Regexp).MatchString(s) == (c.Op == Match)
	}
	return false
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func refNumber(x *big.Float, c *Compare) bool {
	var y *big.Float
	switch {
	case c.Value.Kind == ValueTime || c.Value.Kind == ValueNumber && c.Value.IsInt:
		y = new(big.Float).SetInt64(c.Value.Int)
	case c.Value.Kind == ValueNumber:
		y = new(big.Float).SetFloat64(c.Value.Float)
	default:
		return false
	}
	return refOrder(x.Cmp(y), c.Op)
}

func refOrder(cmp int, op Op) bool {
	switch op {
	case Eq:
		return cmp == 0
	case Ne:
		return cmp != 0
	case Lt:
		return cmp < 0
	case Le:
		return cmp <= 0
	case Gt:
		return cmp > 0
	case Ge:
		return cmp >= 0
	}
	panic("refOrder: not a relational operator")
}
