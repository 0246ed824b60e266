package rest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads how long the system asks to wait: Retry-After in
// seconds or as a date, or a rate-limit reset header, or 0.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(0, t.Sub(now))
		}
	}
	if until, ok := ResetTime(h, now); ok {
		return max(0, until.Sub(now))
	}
	if v := h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"); v != "" && h.Get("X-HubSpot-RateLimit-Remaining") == "0" {
		if ms, err := strconv.Atoi(v); err == nil {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return 0
}

// ResetTime reads, from the common rate-limit headers, when the system
// will take requests again if it says none are left now.
func ResetTime(h http.Header, now time.Time) (time.Time, bool) {
	for _, prefix := range []string{"X-RateLimit-", "RateLimit-", "X-Rate-Limit-"} {
		rem := h.Get(prefix + "Remaining")
		if rem == "" {
			continue
		}
		if n, err := strconv.Atoi(rem); err != nil || n > 0 {
			return time.Time{}, false
		}
		reset := h.Get(prefix + "Reset")
		v, err := strconv.ParseFloat(reset, 64)
		if err != nil || v < 0 {
			return now.Add(time.Second), true
		}
		if v > 1e9 { // an epoch time
			return time.Unix(0, int64(v*1e9)), true
		}
		return now.Add(time.Duration(v * float64(time.Second))), true
	}
	if h.Get("X-HubSpot-RateLimit-Remaining") == "0" {
		if ms, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil {
			return now.Add(time.Duration(ms) * time.Millisecond), true
		}
	}
	return time.Time{}, false
}

// PolicyRate reads the rate a system says it allows, in requests a
// second, from RateLimit-Policy ("100;w=10") or HubSpot's
// X-HubSpot-RateLimit-Max and -Interval-Milliseconds; 0 when it says none.
func PolicyRate(h http.Header) float64 {
	if v := h.Get("RateLimit-Policy"); v != "" {
		q, rest, _ := strings.Cut(strings.Split(v, ",")[0], ";")
		n, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
		w := 1.0
		for _, p := range strings.Split(rest, ";") {
			if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "w" {
				if x, err := strconv.ParseFloat(val, 64); err == nil && x > 0 {
					w = x
				}
			}
		}
		if err == nil && n > 0 {
			return n / w
		}
	}
	maxN, err1 := strconv.ParseFloat(h.Get("X-HubSpot-RateLimit-Max"), 64)
	ms, err2 := strconv.ParseFloat(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"), 64)
	if err1 == nil && err2 == nil && maxN > 0 && ms > 0 {
		return maxN / (ms / 1000)
	}
	return 0
}
