// Package match implements Heka's message-matcher language: the
// expressions that decide which endpoints receive a message, and that
// filter messages in the web UI, the API and `metlog tail`.
//
//	Type == 'timer' && Severity <= 4 && Fields[name] =~ /^db\./ && Fields[rate] != NIL
//
// Compile an expression once and call Match for every message:
//
//	m, err := match.Compile("Type == 'oldstyle' && Severity <= 4")
//	if err != nil {
//		return err // *match.Error: "match: column 9: ..."
//	}
//	if m.Match(msg) { ... }
//
// A Matcher is safe for concurrent use and Match allocates nothing.
// Parse returns the syntax tree (Node: *Const, *And, *Or, *Compare) for
// translators such as the store's SQL builder.
//
// # Grammar
//
// In EBNF (https://go.dev/ref/spec#Notation). Space, tab, CR and LF
// separate tokens and are otherwise ignored, also inside the brackets of
// Fields[...].
//
//	expression = and { "||" and } .
//	and        = operand { "&&" operand } .
//	operand    = "(" expression ")" | "TRUE" | "FALSE" | comparison .
//	comparison = variable operator value .
//
//	variable   = "Uuid" | "Type" | "Logger" | "Payload" | "EnvVersion" | "Hostname"
//	           | "Timestamp" | "Severity" | "Pid"
//	           | "Fields" "[" name "]" [ "[" index "]" [ "[" index "]" ] ] .
//	name       = string | bare_char { bare_char } .
//	bare_char  = /* any printing character but space, [ ] ' " and \ */ .
//	index      = decimal_digit { decimal_digit } .
//
//	operator   = "==" | "!=" | "<" | "<=" | ">" | ">=" | "=~" | "!~" .
//	value      = string | number | regexp | "TRUE" | "FALSE" | "NIL" .
//
//	string     = "'" { char | escape } "'" | `"` { char | escape } `"` .
//	escape     = `\` ( `\` | "'" | `"` | "n" | "r" | "t" )
//	           | `\x` hex hex | `\u` hex hex hex hex | `\U` hex hex hex hex hex hex hex hex .
//	number     = [ "-" ] ( digits [ "." [ digits ] ] | "." digits ) [ exponent ] .
//	exponent   = ( "e" | "E" ) [ "+" | "-" ] digits .
//	digits     = decimal_digit { decimal_digit } .
//	regexp     = "/" { re_char | `\/` } "/" .  /* RE2 syntax; \/ stands for / */
//
// && binds tighter than ||; both evaluate left to right and stop as soon
// as the outcome is known. Names are case-sensitive.
//
// # Comparisons
//
// Which values a variable takes:
//
//	Uuid Type Logger Payload     == != < <= > >=  'string'   (lexical, bytewise)
//	EnvVersion Hostname          =~ !~            /regexp/
//	Timestamp                    == != < <= > >=  number (ns since the epoch) or
//	                                              'RFC 3339 time' ('2016-05-24T21:51:00Z')
//	Severity Pid                 == != < <= > >=  number
//	Fields[name][i][j]           == != < <= > >=  'string' or number
//	                             =~ !~            /regexp/
//	                             == !=            TRUE, FALSE or NIL
//
// Any other combination is a compile error: types are checked when an
// expression is compiled, never while matching. Uuid compares as its
// canonical text ("0190d3e4-7c1a-7b3e-8f00-0123456789ab", lower case).
// Numbers compare exactly, whether written or stored as integers or
// floats (Severity < 4.5 is Severity <= 4; a float field equals 3 only if
// it holds exactly 3.0).
//
// Fields[name] is shorthand for Fields[name][0][0]: the first value of the
// first field called name. Fields[name][i] is the first value of the
// i-th field of that name (names may repeat), Fields[name][i][j] its j-th
// value. Names may contain dots (Fields[headers.path], a flattened
// metlog JSON object) and are quoted when they contain spaces, brackets
// or quotes (Fields['user agent']).
//
// A comparison with a field value is false when the field or value does
// not exist (except == NIL), and when its type does not suit the literal:
// Fields[foo] == 6 where foo holds a string is false, and so is
// Fields[foo] != 6. Strings compare with string and bytes values, numbers
// with integer and double values, TRUE and FALSE with bool values, and
// regular expressions match string and bytes values. NIL tests existence:
// Fields[x] == NIL is true when the message has no such value,
// Fields[x] != NIL when it has.
//
// Regular expressions are RE2 (package regexp), compiled once; capture
// groups are ignored. A regexp that is a plain literal, optionally
// anchored with ^ or $, runs as a substring, prefix, suffix or equality
// test instead.
//
// # Differences from Heka
//
// Where Heka's parser was silent or accidental, this one chooses:
// negative numbers and exponents with E are accepted; string escapes
// other than those above are errors (Heka kept them verbatim); space
// around a field name inside the brackets is ignored; Timestamp also
// compares with an RFC 3339 time, as in Heka's Lua matcher; TRUE and
// FALSE also compare with !=; Heka's %TIMESTAMP% regexp template (dropped
// by Heka itself) is not expanded. Errors name the column, and limits
// (MaxLen, MaxDepth, MaxRegexpSize, MaxTerms) bound the cost of compiling.
package match
