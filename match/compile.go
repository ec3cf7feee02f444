package match

import (
	"fmt"

	"github.com/metlog/metlog"
)

// Matcher is a compiled expression. It is immutable and safe for concurrent
// use; Match allocates nothing. Make one with Compile, MustCompile or
// UnmarshalText; the zero Matcher is not usable.
type Matcher struct {
	src  string
	expr Node
	fn   func(*metlog.Message) bool
}

// Compile parses expr and compiles it into a Matcher. Errors are *Error,
// naming the column and what was expected there.
func Compile(expr string) (*Matcher, error) {
	n, err := Parse(expr)
	if err != nil {
		return nil, err
	}
	n = Simplify(n)
	p, err := compileNode(n)
	if err != nil {
		return nil, err
	}
	return &Matcher{src: expr, expr: n, fn: p.toFunc()}, nil
}

// MustCompile is Compile for expressions known to be valid, such as
// constants in code; it panics on error.
func MustCompile(expr string) *Matcher {
	m, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return m
}

// Match reports whether msg satisfies the expression. msg must not be nil.
func (m *Matcher) Match(msg *metlog.Message) bool { return m.fn(msg) }

// String returns the expression in canonical form: the simplified tree
// (see Expr) printed with single-quoted strings and minimal parentheses.
// Compiling it yields an equivalent Matcher.
func (m *Matcher) String() string { return m.expr.String() }

// Source returns the expression as it was given to Compile.
func (m *Matcher) Source() string { return m.src }

// Expr returns the syntax tree the Matcher runs: Parse's tree with TRUE
// and FALSE folded away (Simplify). A translator to another query
// language walks it, and may fall back to Match for what it cannot
// express. The tree must not be modified.
func (m *Matcher) Expr() Node { return m.expr }

// MarshalText returns the source expression, so a Matcher can sit in a
// config struct.
func (m *Matcher) MarshalText() ([]byte, error) { return []byte(m.src), nil }

// UnmarshalText compiles text into m.
func (m *Matcher) UnmarshalText(text []byte) error {
	c, err := Compile(string(text))
	if err != nil {
		return err
	}
	*m = *c
	return nil
}

// Simplify folds the constants TRUE and FALSE out of n: TRUE && x is x,
// FALSE && x is FALSE, TRUE || x is TRUE, FALSE || x is x (on either
// side, since evaluating x has no effects). The result is either a single
// *Const or a tree without any. n is not modified.
func Simplify(n Node) Node {
	switch n := n.(type) {
	case *And:
		l, r := Simplify(n.Left), Simplify(n.Right)
		if c, ok := l.(*Const); ok {
			if c.Value {
				return r
			}
			return l
		}
		if c, ok := r.(*Const); ok {
			if c.Value {
				return l
			}
			return r
		}
		if l == n.Left && r == n.Right {
			return n
		}
		return &And{Left: l, Right: r}
	case *Or:
		l, r := Simplify(n.Left), Simplify(n.Right)
		if c, ok := l.(*Const); ok {
			if c.Value {
				return l
			}
			return r
		}
		if c, ok := r.(*Const); ok {
			if c.Value {
				return r
			}
			return l
		}
		if l == n.Left && r == n.Right {
			return n
		}
		return &Or{Left: l, Right: r}
	}
	return n
}

// pred is a compiled node: a test of a message, or a constant when the
// outcome is known at compile time.
type pred struct {
	fn    func(*metlog.Message) bool
	konst int8 // 0: ask fn; 1: always true; -1: always false
}

var (
	alwaysTrue  = pred{konst: 1}
	alwaysFalse = pred{konst: -1}
)

func constPred(b bool) pred {
	if b {
		return alwaysTrue
	}
	return alwaysFalse
}

// toFunc returns p as a function, constants included.
func (p pred) toFunc() func(*metlog.Message) bool {
	switch p.konst {
	case 1:
		return func(*metlog.Message) bool { return true }
	case -1:
		return func(*metlog.Message) bool { return false }
	}
	return p.fn
}

func compileNode(n Node) (pred, error) {
	switch n := n.(type) {
	case *Const:
		return constPred(n.Value), nil
	case *And:
		return compileChain(n, true)
	case *Or:
		return compileChain(n, false)
	case *Compare:
		return compileCompare(n)
	}
	return pred{}, fmt.Errorf("match: cannot compile node %T", n)
}

// compileChain compiles a run of && (and is true) or || into one test over
// its operands, dropping those whose outcome is known.
func compileChain(n Node, and bool) (pred, error) {
	var operands []Node
	operands = flatten(operands, n, and)
	var ps []func(*metlog.Message) bool
	for _, o := range operands {
		p, err := compileNode(o)
		if err != nil {
			return pred{}, err
		}
		switch {
		case p.konst == 0:
			ps = append(ps, p.fn)
		case (p.konst == 1) != and: // FALSE in an &&, TRUE in an ||
			return constPred(!and), nil
		}
	}
	switch len(ps) {
	case 0:
		return constPred(and), nil
	case 1:
		return pred{fn: ps[0]}, nil
	case 2:
		a, b := ps[0], ps[1]
		if and {
			return pred{fn: func(m *metlog.Message) bool { return a(m) && b(m) }}, nil
		}
		return pred{fn: func(m *metlog.Message) bool { return a(m) || b(m) }}, nil
	case 3:
		a, b, c := ps[0], ps[1], ps[2]
		if and {
			return pred{fn: func(m *metlog.Message) bool { return a(m) && b(m) && c(m) }}, nil
		}
		return pred{fn: func(m *metlog.Message) bool { return a(m) || b(m) || c(m) }}, nil
	}
	if and {
		return pred{fn: func(m *metlog.Message) bool {
			for _, p := range ps {
				if !p(m) {
					return false
				}
			}
			return true
		}}, nil
	}
	return pred{fn: func(m *metlog.Message) bool {
		for _, p := range ps {
			if p(m) {
				return true
			}
		}
		return false
	}}, nil
}

// flatten appends the operands of the && (or ||) chain rooted at n, in
// evaluation order.
func flatten(dst []Node, n Node, and bool) []Node {
	switch x := n.(type) {
	case *And:
		if and {
			return flatten(flatten(dst, x.Left, and), x.Right, and)
		}
	case *Or:
		if !and {
			return flatten(flatten(dst, x.Left, and), x.Right, and)
		}
	}
	return append(dst, n)
}
