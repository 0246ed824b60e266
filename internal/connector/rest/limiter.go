package rest

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter paces the requests of one system: a token bucket at the
// configured rate, a pause while the system says it is over its limit,
// and a lower rate after refusals that recovers slowly.
type Limiter struct {
	mu         sync.Mutex
	bucket     *rate.Limiter
	configured rate.Limit // rate.Inf when off
	burst      int
	current    rate.Limit // what the bucket runs at now
	ceiling    rate.Limit // the rate last refused; rate.Inf before any refusal
	until      time.Time  // no request before this
	lastRefuse time.Time
	lastRaise  time.Time
	// recent holds the send times of the last two seconds, to estimate
	// the rate that was being refused.
	recent  []time.Time
	refused int64
}

// minRate is the floor an adaptive rate never goes below.
const minRate = rate.Limit(0.5)

// NewLimiter makes a limiter at perSecond requests a second (0: no
// limit of its own) with the given burst (0: one second's worth).
func NewLimiter(perSecond float64, burst int) *Limiter {
	l := rate.Limit(perSecond)
	if perSecond <= 0 {
		l = rate.Inf
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return &Limiter{bucket: rate.NewLimiter(l, burst), configured: l, current: l, ceiling: rate.Inf, burst: burst}
}

// Wait blocks until a request may be sent.
func (l *Limiter) Wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		d := time.Until(l.until)
		l.mu.Unlock()
		if d <= 0 {
			break
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
	if err := l.bucket.Wait(ctx); err != nil {
		return err
	}
	l.mu.Lock()
	now := time.Now()
	l.recent = append(l.recent, now)
	drop := 0
	for drop < len(l.recent) && now.Sub(l.recent[drop]) > 2*time.Second {
		drop++
	}
	l.recent = l.recent[drop:]
	l.mu.Unlock()
	return nil
}

// Take waits until n requests may be sent and takes their tokens at
// once, for requests that must follow each other without a wait between
// them (a read that checks a record, then the write that relies on it).
// Send them with Request.Paid.
func (l *Limiter) Take(ctx context.Context, n int) error {
	for range n {
		if err := l.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Refused records a 429 (or the system's equivalent): no request goes
// before wait has passed, and the rate drops below what was refused.
func (l *Limiter) Refused(wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.refused++
	if t := now.Add(wait); t.After(l.until) {
		l.until = t
	}
	// Lower the rate at most once per half second: one burst of refusals
	// is one signal.
	if now.Sub(l.lastRefuse) < 500*time.Millisecond {
		return
	}
	l.lastRefuse = now
	// The rate that was refused: what the bucket allowed, or with no
	// limit of its own what was sent over the last second or two.
	refusedAt := l.current
	if refusedAt == rate.Inf {
		// Only an estimate, from a burst the system may have let through:
		// start there but keep climbing fast until a paced rate is refused.
		span := 1.0
		if len(l.recent) > 1 {
			span = max(span, now.Sub(l.recent[0]).Seconds())
		}
		refusedAt = max(1, rate.Limit(float64(len(l.recent))/span))
	} else {
		l.ceiling = refusedAt
	}
	l.setRate(max(minRate, refusedAt*0.85), now)
}

// Policy tells the limiter the rate the system says it allows (from its
// rate-limit headers): tandem then stays just below it.
func (l *Limiter) Policy(perSecond float64) {
	if perSecond <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	target := rate.Limit(perSecond * 0.95)
	if l.configured != rate.Inf && l.configured <= target {
		return
	}
	l.configured = target
	if l.current > target {
		l.setRate(target, time.Now())
	}
}

// Paused says the system reported no requests left until reset.
func (l *Limiter) Paused(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.until) {
		l.until = until
	}
}

// Accepted records an answer that was not a refusal. After a quiet spell
// the rate climbs: fast up to just below the rate last refused, then
// slowly, probing whether the system allows more than it did.
func (l *Limiter) Accepted() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.current == l.configured {
		return
	}
	now := time.Now()
	if now.Sub(l.lastRefuse) < 250*time.Millisecond || now.Sub(l.lastRaise) < 250*time.Millisecond {
		return
	}
	next := l.current * 1.25
	if l.ceiling != rate.Inf && next > l.ceiling*0.9 {
		if l.current < l.ceiling*0.9 {
			next = l.ceiling * 0.9
		} else if now.Sub(l.lastRaise) < 2*time.Second {
			return
		} else {
			next = l.current * 1.02
		}
	}
	if l.configured != rate.Inf && next >= l.configured {
		next = l.configured
	}
	if l.configured == rate.Inf && next > 10000 {
		next = rate.Inf
	}
	l.setRate(next, now)
}

func (l *Limiter) setRate(r rate.Limit, now time.Time) {
	l.current, l.lastRaise = r, now
	l.bucket.SetLimitAt(now, r)
	// Once the system has refused, pace evenly: a burst is what it refused.
	l.bucket.SetBurstAt(now, 1)
}

// Rate is the current rate in requests a second (+Inf when unlimited)
// and how many refusals were seen.
func (l *Limiter) Rate() (float64, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return float64(l.current), l.refused
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
