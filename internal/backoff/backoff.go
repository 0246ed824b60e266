// Package backoff is tandem's one rule for how long to wait before trying
// again: exponential from a base, capped, with optional full jitter so
// that many waiters do not come back at once. Delivery (retries of a
// record, rounds while a destination is down), capture and reports
// (reading a system again), the REST client (a request again) and the
// brokers (a reconnection) all wait by a Policy.
//
// A Policy is a value with no state; anyone may use it. Delay never
// returns a negative wait, and never one above Max.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy says how long to wait before each try after the first.
type Policy struct {
	Base time.Duration // the wait before the second try
	Max  time.Duration // the longest wait; Base when not set
	// Jitter spreads each wait over [d/2, d] at random.
	Jitter bool
}

// Delay is the wait before try n+1, after n tries failed (n ≥ 1): Base
// doubled n-1 times, at most Max, jittered if asked.
func (p Policy) Delay(n int) time.Duration {
	if p.Base <= 0 {
		return 0
	}
	ceil := p.Max
	if ceil <= 0 {
		ceil = p.Base
	}
	d := min(p.Base, ceil)
	for i := 1; i < n && d < ceil; i++ {
		d *= 2
	}
	d = min(d, ceil)
	if p.Jitter {
		d = d/2 + rand.N(d/2+1)
	}
	return d
}
