package broker

import (
	"context"
	"time"
)

// collect feeds take from in until have() reaches max: what is there
// at once, and when nothing is, waits up to wait for a first item.
func collect[T any](ctx context.Context, in <-chan T, max int, wait time.Duration, have func() int, take func(T)) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for have() < max {
		select {
		case v := <-in:
			take(v)
			continue
		default:
		}
		if have() > 0 || wait <= 0 {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		}
		select {
		case v := <-in:
			take(v)
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
