package match_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/match"
)

func ExampleCompile() {
	m, err := match.Compile(`Type == 'timer' && Severity <= 4 && Fields[name] =~ /^db\./ && Fields[rate] != NIL`)
	if err != nil {
		panic(err)
	}
	msg := &metlog.Message{
		Type:     "timer",
		Severity: metlog.Warning,
		Payload:  "12",
		Fields:   []metlog.Field{metlog.String("name", "db.query"), metlog.Float("rate", 1)},
	}
	fmt.Println(m.Match(msg))
	msg.Severity = metlog.Info
	fmt.Println(m.Match(msg))
	// Output:
	// true
	// false
}

func ExampleError() {
	_, err := match.Compile(`Type == 'timer' && Severity <= 'warning'`)
	fmt.Println(err)

	var e *match.Error
	if errors.As(err, &e) {
		fmt.Println(e.Column)
	}
	// Output:
	// match: column 32: expected a number after '<=' (got string 'warning'); Severity is a number
	// 32
}

func ExampleMatcher_String() {
	m := match.MustCompile(`TRUE && (Type=="counter" || Type=="timer") && Fields["name"][0][0] != NIL`)
	fmt.Println(m.String())
	// Output:
	// (Type == 'counter' || Type == 'timer') && Fields[name] != NIL
}

// A translator walks the tree with a type switch and gives up (falling
// back to Matcher.Match) on what it cannot express.
func ExampleParse() {
	n, err := match.Parse(`Type == 'oldstyle' && (Severity <= 3 || Logger == 'db')`)
	if err != nil {
		panic(err)
	}
	var where func(match.Node) string
	where = func(n match.Node) string {
		switch n := n.(type) {
		case *match.And:
			return "(" + where(n.Left) + " AND " + where(n.Right) + ")"
		case *match.Or:
			return "(" + where(n.Left) + " OR " + where(n.Right) + ")"
		case *match.Compare:
			if n.Var.Kind == match.VarField || n.Op == match.Match || n.Op == match.NotMatch {
				return "?"
			}
			col := strings.ToLower(n.Var.Kind.String())
			return col + " " + n.Op.String() + " " + n.Value.String()
		}
		return n.String()
	}
	fmt.Println(where(n))
	// Output:
	// (type == 'oldstyle' AND (severity <= 3 OR logger == 'db'))
}
