package deliver

import (
	"math/rand/v2"
	"time"
)

// Policy bounds retries of one destination.
type Policy struct {
	Attempts   int           // tries before a dead letter
	Backoff    time.Duration // first delay
	MaxBackoff time.Duration // cap
}

// delay is the wait before try number attempt+1: exponential from
// Backoff, capped, with full jitter in [d/2, d).
func (p Policy) delay(attempt int) time.Duration {
	d := p.Backoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	if d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}
