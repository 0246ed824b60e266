package torture

import (
	"context"
	"fmt"
	"time"
)

// converge waits until every system holds what the ledger says and
// tandem holds nothing back, then watches the contents stay put for a
// while. It returns the last counts, their problems and how long
// agreement took.
func (r *run) converge(ctx context.Context, limit time.Duration, final bool) (Counts, []string, time.Duration, error) {
	start := time.Now()
	deadline := start.Add(limit)
	var agreed time.Time
	var took time.Duration
	var fp string
	const steady = 5 * time.Second
	for {
		c, problems, snap, err := r.check(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return c, nil, 0, ctx.Err()
			}
			r.logf("reading the systems failed: %v", err)
		}
		ok := err == nil && c.converged() && c.Dead == 0 && c.Held == 0
		switch {
		case ok && agreed.IsZero():
			agreed, took, fp = time.Now(), time.Since(start), snap.fp
			if !final {
				return c, nil, took, nil
			}
		case ok && snap.fp != fp:
			c.Moving = 1
			problems = append(problems, fmt.Sprintf("the systems' contents changed after they agreed (fingerprint %s → %s)", fp, snap.fp))
			return c, problems, took, nil
		case ok && time.Since(agreed) >= steady:
			r.logf("the systems agree after %s and stayed put for %s", took.Round(10*time.Millisecond), steady)
			return c, problems, took, nil
		case !ok && !agreed.IsZero():
			// They agreed, then something moved away from agreement.
			c.Moving = 1
			problems = append(problems, "the systems agreed, then moved apart")
			return c, problems, took, nil
		}
		if time.Now().After(deadline) {
			r.logf("the systems did not agree within %s: %s", limit, c)
			return c, problems, 0, nil
		}
		select {
		case <-ctx.Done():
			return c, problems, 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// check reads every system and tandem's store and compares them with the ledger.
func (r *run) check(ctx context.Context) (Counts, []string, *snapshot, error) {
	snap, err := read(ctx, r.apps)
	if err != nil {
		return Counts{}, nil, nil, err
	}
	c, problems := compare(snap, r.ledger, r.names)
	dead, held, lines, err := tandemState(ctx, r.data, r.names)
	if err != nil {
		return c, problems, snap, err
	}
	c.Dead, c.Held = dead, held
	return c, append(problems, lines...), snap, nil
}
