package deliver

import (
	"time"

	"github.com/tandemhub/tandem/internal/backoff"
)

// Policy bounds retries of one destination.
type Policy struct {
	Attempts   int           // tries before a dead letter
	Backoff    time.Duration // first delay
	MaxBackoff time.Duration // cap
}

// delay is the wait before try number attempt+1: exponential from
// Backoff, capped, with full jitter in [d/2, d].
func (p Policy) delay(attempt int) time.Duration {
	return backoff.Policy{Base: p.Backoff, Max: p.MaxBackoff, Jitter: true}.Delay(attempt)
}
