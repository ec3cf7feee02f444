package metlog

import (
	"fmt"
	"strconv"
	"strings"
)

// Severity is a syslog severity (RFC 5424): lower is more severe.
type Severity int32

// The eight syslog severities.
const (
	Emergency Severity = 0 // system is unusable
	Alert     Severity = 1 // action must be taken immediately
	Critical  Severity = 2 // critical conditions
	Error     Severity = 3 // error conditions
	Warning   Severity = 4 // warning conditions
	Notice    Severity = 5 // normal but significant condition
	Info      Severity = 6 // informational messages
	Debug     Severity = 7 // debug-level messages
)

var severityNames = [...]string{
	"EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG",
}

// String returns the upper-case syslog name ("ERROR"), or the number for a
// value outside 0..7.
func (s Severity) String() string {
	if s >= 0 && int(s) < len(severityNames) {
		return severityNames[s]
	}
	return strconv.Itoa(int(s))
}

// ParseSeverity accepts a syslog name in any case ("error", "WARN" and
// "CRIT" included) or a number from 0 to 7.
func ParseSeverity(s string) (Severity, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 7 {
			return 0, fmt.Errorf("severity %d out of range 0..7", n)
		}
		return Severity(n), nil
	}
	u := strings.ToUpper(strings.TrimSpace(s))
	for i, name := range severityNames {
		if u == name {
			return Severity(i), nil
		}
	}
	switch u {
	case "EMERG", "PANIC":
		return Emergency, nil
	case "CRIT":
		return Critical, nil
	case "ERR":
		return Error, nil
	case "WARN":
		return Warning, nil
	case "INFORMATIONAL":
		return Info, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want a syslog name such as \"error\" or a number 0..7)", s)
}

// UnmarshalText lets a Severity be read from config as a name or number.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText writes the lower-case syslog name.
func (s Severity) MarshalText() ([]byte, error) {
	return []byte(strings.ToLower(s.String())), nil
}
