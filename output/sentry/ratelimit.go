package sentry

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// defaultRetryAfter is how long a 429 without a usable header holds
// sending back, as Sentry's SDKs do.
const defaultRetryAfter = 60 * time.Second

// eventCategory is the rate-limit category of an event item.
const eventCategory = "error"

// limits remembers, per DSN project, until when Sentry asked not to be
// sent events. It is safe for concurrent use.
type limits struct {
	mu    sync.Mutex
	until map[string]time.Time // key: DSN envelope URL + " " + category ("" = all)
}

// blockedUntil returns the time before which events for dsn must not be
// sent, or the zero time.
func (l *limits) blockedUntil(dsn *DSN, now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := dsn.EnvelopeURL()
	var t time.Time
	for _, c := range []string{"", eventCategory} {
		if u := l.until[key+" "+c]; u.After(now) && u.After(t) {
			t = u
		}
	}
	return t
}

// update records the limits a response announces: X-Sentry-Rate-Limits
// on any response, else Retry-After on a 429.
func (l *limits) update(dsn *DSN, resp *http.Response, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.until == nil {
		l.until = map[string]time.Time{}
	}
	key := dsn.EnvelopeURL()
	if h := resp.Header.Get("X-Sentry-Rate-Limits"); h != "" {
		for _, group := range parseRateLimits(h, now) {
			for _, c := range group.categories {
				if k := key + " " + c; group.until.After(l.until[k]) {
					l.until[k] = group.until
				}
			}
		}
		return
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		if u := retryAfter(resp.Header.Get("Retry-After"), now); u.After(l.until[key+" "]) {
			l.until[key+" "] = u
		}
	}
}

type rateLimit struct {
	until      time.Time
	categories []string // "" stands for every category
}

// parseRateLimits reads an X-Sentry-Rate-Limits header:
//
//	<limit>(,<limit>)*    <limit> = <seconds>:<category>(;<category>)*:<scope>(:<reason>…)?
//
// An empty category list means every category. Limits that do not parse
// are ignored.
func parseRateLimits(h string, now time.Time) []rateLimit {
	var out []rateLimit
	for _, group := range strings.Split(h, ",") {
		parts := strings.Split(strings.TrimSpace(group), ":")
		if len(parts) < 2 {
			continue
		}
		secs, err := strconv.ParseFloat(parts[0], 64)
		if err != nil || secs < 0 || secs > 1e7 {
			continue
		}
		rl := rateLimit{until: now.Add(time.Duration(secs * float64(time.Second)))}
		if parts[1] == "" {
			rl.categories = []string{""}
		} else {
			for _, c := range strings.Split(parts[1], ";") {
				if c = strings.TrimSpace(c); c == eventCategory || c == "default" {
					rl.categories = append(rl.categories, eventCategory)
				}
			}
		}
		if len(rl.categories) > 0 {
			out = append(out, rl)
		}
	}
	return out
}

// retryAfter reads a Retry-After header, seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Time {
	if secs, err := strconv.ParseFloat(strings.TrimSpace(h), 64); err == nil && secs >= 0 && secs <= 1e7 {
		return now.Add(time.Duration(secs * float64(time.Second)))
	}
	if t, err := http.ParseTime(h); err == nil {
		return t
	}
	return now.Add(defaultRetryAfter)
}
