package syslog

import (
	"fmt"
	"strconv"
	"strings"
)

// Facility is a syslog facility, 0 (kern) to 23 (local7): the high bits of
// the priority value.
type Facility uint8

// The facilities that have conventional names.
const (
	Kern     Facility = 0
	User     Facility = 1
	Mail     Facility = 2
	Daemon   Facility = 3
	Auth     Facility = 4
	Syslog   Facility = 5
	LPR      Facility = 6
	News     Facility = 7
	UUCP     Facility = 8
	Cron     Facility = 9
	AuthPriv Facility = 10
	FTP      Facility = 11
	Local0   Facility = 16
	Local7   Facility = 23
)

// MaxFacility is the largest facility a priority value can carry.
const MaxFacility Facility = 23

var facilityNames = [MaxFacility + 1]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// String returns the facility's lower-case name ("local4"), or its number
// when it has none.
func (f Facility) String() string {
	if f <= MaxFacility {
		return facilityNames[f]
	}
	return strconv.Itoa(int(f))
}

// ParseFacility accepts a facility name in any case, with or without
// Python's and C's "LOG_" prefix ("local4", "LOG_LOCAL4", "LOCAL4"), the
// aliases "security" (auth) and "clock", or a number from 0 to 23.
func ParseFacility(s string) (Facility, error) {
	if s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("facility %q: want a name such as \"local4\" or a number 0..23", s)
		}
		if n < 0 || n > int(MaxFacility) {
			return 0, fmt.Errorf("facility %d out of range 0..23", n)
		}
		return Facility(n), nil
	}
	l := strings.ToLower(strings.TrimSpace(s))
	l = strings.TrimPrefix(l, "log_")
	for i, name := range facilityNames {
		if l == name {
			return Facility(i), nil
		}
	}
	if l == "clock" {
		return 15, nil
	}
	return 0, fmt.Errorf("unknown facility %q (want a name such as \"local4\" or a number 0..23)", s)
}

// Priority is the PRI value of a syslog header: facility*8 + severity.
func Priority(f Facility, severity int) int { return int(f)*8 + severity&7 }
