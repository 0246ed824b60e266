package torture

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"
)

// fault counts one fault of kind.
func (r *run) fault(kind string) {
	r.faultMu.Lock()
	r.faults[kind]++
	r.faultMu.Unlock()
}

// faultSummary lists the faults counted so far, sorted by kind.
func (r *run) faultSummary() string {
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	var parts []string
	for k, n := range r.faults {
		parts = append(parts, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ", ") + "}"
}

// heal ends every fault.
func (r *run) heal() {
	for _, s := range r.systems {
		if s.tcp != nil {
			s.tcp.Heal()
		}
		if s.api != nil {
			s.api.Set(apiOK)
		}
	}
}

// inject runs faults one after another until ctx ends.
func (r *run) inject(ctx context.Context) {
	if len(r.opt.Faults) == 0 {
		return
	}
	var lastLost time.Time
	deck := &faultDeck{kinds: r.opt.Faults, rng: r.rng}
	for pause(ctx, r.between(2*time.Second, 5*time.Second)) {
		if !r.hub.running() {
			if err := r.hub.start(); err != nil {
				r.logf("restart tandem run: %v", err)
			}
		}
		kind := deck.deal()
		switch kind {
		case "kill":
			r.killHub(ctx)
		case "cut", "slow":
			r.faultLink(ctx, kind)
		case "api":
			r.faultAPI(ctx)
		case "lose-dir":
			if time.Since(lastLost) < 60*time.Second {
				continue
			}
			lastLost = time.Now()
			r.loseDataDir(ctx)
		}
	}
}

// faultDeck deals kinds of fault. Faults are dealt from a shuffled deck,
// dealt anew once empty: every kind comes up in a short run, and a long
// one rotates evenly.
type faultDeck struct {
	kinds []string
	rng   *rand.Rand
	deck  []string
}

// deal takes the next kind of fault off the deck.
func (d *faultDeck) deal() string {
	if len(d.deck) == 0 {
		d.deck = append(d.deck, d.kinds...)
		d.rng.Shuffle(len(d.deck), func(i, j int) { d.deck[i], d.deck[j] = d.deck[j], d.deck[i] })
	}
	k := d.deck[0]
	d.deck = d.deck[1:]
	return k
}

// pause waits d, or until ctx ends; it reports whether d passed.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// between draws a duration from lo to hi, both included.
func (r *run) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.rng.Int64N(int64(hi-lo)+1))
}

// killHub kills the hub with SIGKILL and starts it again a moment later.
func (r *run) killHub(ctx context.Context) {
	r.fault("kill")
	r.hub.kill()
	pause(ctx, r.between(200*time.Millisecond, 2*time.Second))
	if err := r.hub.start(); err != nil {
		r.logf("restart tandem run: %v", err)
	}
}

// faultLink cuts (kind "cut") or slows (kind "slow") the TCP link to one
// database for a while, then heals it. Without databases behind a proxy
// it does nothing.
func (r *run) faultLink(ctx context.Context, kind string) {
	var dbs []*system
	for _, s := range r.systems {
		if s.tcp != nil {
			dbs = append(dbs, s)
		}
	}
	if len(dbs) == 0 {
		return
	}
	s := dbs[r.rng.IntN(len(dbs))]
	r.fault(kind + " " + s.name)
	if kind == "cut" {
		s.tcp.Cut()
		pause(ctx, r.between(time.Second, 6*time.Second))
	} else {
		s.tcp.Slow(r.between(20*time.Millisecond, 100*time.Millisecond))
		pause(ctx, r.between(3*time.Second, 8*time.Second))
	}
	s.tcp.Heal()
}

// faultAPI makes one API answer badly (429, 500, time out or lose its
// answers) for a while, then well again. Without an API behind a proxy
// it does nothing.
func (r *run) faultAPI(ctx context.Context) {
	var apis []*system
	for _, s := range r.systems {
		if s.api != nil {
			apis = append(apis, s)
		}
	}
	if len(apis) == 0 {
		return
	}
	s := apis[r.rng.IntN(len(apis))]
	f := apiFault(1 + r.rng.IntN(4))
	r.fault(f.String() + " " + s.name)
	s.api.Set(f)
	pause(ctx, r.between(2*time.Second, 6*time.Second))
	s.api.Set(apiOK)
}

// waitReady waits for the hub's log to say its initial copy is done,
// then for tandem to know every record's key in every system again: a
// queue system has no snapshot, and tandem learns its keys back only by
// sending it the records and reading its reports.
func (r *run) waitReady(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if r.hub.readySince() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !r.hub.readySince() {
		r.problems = append(r.problems, fmt.Sprintf("tandem run did not finish its initial copy within %s", limit))
		return
	}
	var left int
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var err error
		if left, err = unlinked(ctx, r.data, r.names); err == nil && left == 0 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.problems = append(r.problems, fmt.Sprintf("%s after tandem run started afresh, %d records still lacked a key in some system or a delivery", limit, left))
}

// loseDataDir pauses the writers, waits for the systems to agree, then
// kills the hub, removes its data directory and starts it afresh, as if
// the directory were lost or the hub moved to a new machine.
func (r *run) loseDataDir(ctx context.Context) {
	r.gate.pause()
	defer r.gate.resume()
	r.logf("pausing the writers to lose the data directory of systems in step")
	c, problems, _, err := r.converge(context.WithoutCancel(ctx), 90*time.Second, false)
	if err != nil || !c.converged() || c.Dead+c.Held > 0 {
		r.problems = append(r.problems, fmt.Sprintf("before losing the data directory, the systems did not agree within 90s: %s", c))
		if len(problems) > 20 {
			problems = problems[:20]
		}
		r.problems = append(r.problems, problems...)
		return
	}
	r.fault("lose-dir")
	r.hub.kill()
	if err := os.RemoveAll(r.data); err != nil {
		r.logf("remove the data directory: %v", err)
	}
	if err := r.hub.start(); err != nil {
		r.logf("restart tandem run: %v", err)
	}
	// Users go on once tandem has copied the systems again: a record
	// deleted while that copy runs, before it was read in its system,
	// would be copied back from the others.
	r.waitReady(context.WithoutCancel(ctx), 2*time.Minute)
	r.logf("data directory lost; tandem run started afresh and copied the systems; writers resume")
}
