package metlog

// filter is the type and severity filtering a Client does on the caller's
// goroutine, before anything is queued. Its maps are built by options and
// read-only afterwards; nil maps cost nothing.
type filter struct {
	severityMax Severity            // drop severities numerically above
	allow       map[string]struct{} // nil: every type
	deny        map[string]struct{}
	typeMax     map[string]Severity // per-type severityMax
}

// allows reports whether a message of type typ and severity sev passes.
func (f *filter) allows(typ string, sev Severity) bool {
	if sev > f.severityMax {
		return false
	}
	if f.deny != nil {
		if _, ok := f.deny[typ]; ok {
			return false
		}
	}
	if f.allow != nil {
		if _, ok := f.allow[typ]; !ok {
			return false
		}
	}
	if f.typeMax != nil {
		if max, ok := f.typeMax[typ]; ok && sev > max {
			return false
		}
	}
	return true
}

func addSet(set map[string]struct{}, items []string) map[string]struct{} {
	if set == nil {
		set = make(map[string]struct{}, len(items))
	}
	for _, s := range items {
		set[s] = struct{}{}
	}
	return set
}

// timerSwitch knows which timers are disabled.
type timerSwitch struct {
	all   bool // "*" was listed
	names map[string]struct{}
}

func newTimerSwitch(disabled []string) timerSwitch {
	var t timerSwitch
	for _, n := range disabled {
		if n == "*" {
			t.all = true
		}
	}
	if !t.all && len(disabled) > 0 {
		t.names = addSet(nil, disabled)
	}
	return t
}

// enabled reports whether the timer called name measures and sends.
func (t *timerSwitch) enabled(name string) bool {
	if t.all {
		return false
	}
	if t.names != nil {
		_, off := t.names[name]
		return !off
	}
	return true
}
