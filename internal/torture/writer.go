package torture

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// gate lets the harness pause every writer (while it loses the data
// directory of systems that are in step).
type gate struct{ mu sync.RWMutex }

func (g *gate) enter()  { g.mu.RLock() }
func (g *gate) leave()  { g.mu.RUnlock() }
func (g *gate) pause()  { g.mu.Lock() }
func (g *gate) resume() { g.mu.Unlock() }

// writer plays the users of every system for the records it owns: one
// writer at a time per record, each action in one system, picked at
// random among those that show the record.
type writer struct {
	id     int
	seed   uint64
	rng    *rand.Rand
	apps   []App
	ledger *ledger
	gate   *gate
	// accounts and contacts it owns and believes alive, by natural key,
	// with the state it last wrote.
	accounts map[string]State
	contacts map[string]State
	n        int
	// errors are failures of the systems' own actions (never errNotHere).
	errors *atomic.Int64
	errLog func(string)
	// maxAccounts bounds the data set.
	maxAccounts int
}

var names = []string{"Acme", "Globex", "Initech", "Umbrella", "Tyrell", "Größe & Söhne", "東京商事", "O'Brien", "Zoë Ltd",
	"Soylent", "Hooli", "Vandelay", "Wonka", "Cyberdyne", "Stark", "Wayne", "Oscorp", "Aperture", "Black Mesa", "Duff"}

func (w *writer) name() string {
	return fmt.Sprintf("%s %d", names[w.rng.IntN(len(names))], w.rng.IntN(1000))
}

func (w *writer) ref(prefix string) string {
	w.n++
	return fmt.Sprintf("%s%d-%d-%d", prefix, w.seed, w.id, w.n)
}

func pick[T any](rng *rand.Rand, m map[string]T) (string, bool) {
	if len(m) == 0 {
		return "", false
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Map order is random but not seeded: sort for a reproducible pick.
	sortStrings(keys)
	return keys[rng.IntN(len(keys))], true
}

// run writes at rate actions per second until ctx ends.
func (w *writer) run(ctx context.Context, rate float64) {
	every := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for ctx.Err() == nil {
		next = next.Add(every/2 + time.Duration(w.rng.Int64N(int64(every)+1)))
		if d := time.Until(next); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		} else {
			next = time.Now()
		}
		w.gate.enter()
		if ctx.Err() == nil {
			// A write begun is seen through and recorded: one cut short
			// when the writers stop could have happened unrecorded.
			w.step(context.WithoutCancel(ctx))
		}
		w.gate.leave()
	}
}

// step makes one action.
func (w *writer) step(ctx context.Context) {
	app := w.apps[w.rng.IntN(len(w.apps))]
	r := w.rng.Float64()
	switch {
	case len(w.accounts) < 3 || (r < 0.12 && len(w.accounts) < w.maxAccounts):
		ref := w.ref("A")
		s := State{Name: w.name(), Tier: Tiers[w.rng.IntN(len(Tiers))], Score: w.rng.Int64N(1000)}
		w.do(ctx, app, "create", Account, ref, func() (State, error) { return app.Create(ctx, Account, ref, s) })
	case r < 0.30 && len(w.contacts) < 2*w.maxAccounts:
		ref := w.ref("C")
		s := State{Name: w.name()}
		if a, ok := pick(w.rng, w.accounts); ok && w.rng.IntN(10) > 0 {
			s.Account = a
		}
		w.do(ctx, app, "create", Contact, ref, func() (State, error) { return app.Create(ctx, Contact, ref, s) })
	case r < 0.58:
		ref, _ := pick(w.rng, w.accounts)
		var p Patch
		for p.Name == nil && p.Tier == nil && p.Score == nil {
			if w.rng.IntN(2) == 0 {
				n := w.name()
				p.Name = &n
			}
			if w.rng.IntN(2) == 0 {
				t := Tiers[w.rng.IntN(len(Tiers))]
				p.Tier = &t
			}
			if w.rng.IntN(3) == 0 {
				s := w.rng.Int64N(1000)
				p.Score = &s
			}
		}
		w.do(ctx, app, "update", Account, ref, func() (State, error) { return app.Update(ctx, Account, ref, p) })
	case r < 0.80:
		ref, ok := pick(w.rng, w.contacts)
		if !ok {
			return
		}
		var p Patch
		if w.rng.IntN(2) == 0 {
			n := w.name()
			p.Name = &n
		}
		if p.Name == nil || w.rng.IntN(3) == 0 {
			a, _ := pick(w.rng, w.accounts)
			if w.rng.IntN(8) == 0 {
				a = ""
			}
			p.Account = &a
		}
		w.do(ctx, app, "update", Contact, ref, func() (State, error) { return app.Update(ctx, Contact, ref, p) })
	case r < 0.90:
		ref, ok := pick(w.rng, w.contacts)
		if !ok {
			return
		}
		w.do(ctx, app, "delete", Contact, ref, func() (State, error) { return State{}, app.Delete(ctx, Contact, ref) })
	default:
		// An account goes only once no contact of this writer points at it.
		free := map[string]State{}
		for ref, s := range w.accounts {
			free[ref] = s
		}
		for _, c := range w.contacts {
			delete(free, c.Account)
		}
		ref, ok := pick(w.rng, free)
		if !ok || len(w.accounts) <= 3 {
			return
		}
		w.do(ctx, app, "delete", Account, ref, func() (State, error) { return State{}, app.Delete(ctx, Account, ref) })
	}
}

// do makes one action and records it.
func (w *writer) do(ctx context.Context, app App, op, entity, ref string, fn func() (State, error)) {
	n, start := w.ledger.begin()
	s, err := fn()
	end := time.Now()
	var wrong *wrongRecord
	switch {
	case errors.As(err, &wrong):
		// A reused id sent the write to another record: it is a write of
		// that one (owned by someone else, as a user's slip would be).
		w.ledger.add(write{N: n, Writer: w.id, System: app.Name(), Entity: entity, Ref: wrong.ref, Op: op, State: s, Start: start, End: end})
		return
	case errors.Is(err, errNotHere):
		return
	case err != nil:
		if ctx.Err() != nil {
			return
		}
		w.errors.Add(1)
		w.errLog(fmt.Sprintf("writer %d: %s %s %s in %s: %v", w.id, op, entity, ref, app.Name(), err))
		return
	}
	w.ledger.add(write{N: n, Writer: w.id, System: app.Name(), Entity: entity, Ref: ref, Op: op, State: s, Start: start, End: end})
	m := w.accounts
	if entity == Contact {
		m = w.contacts
	}
	if op == "delete" {
		delete(m, ref)
	} else {
		m[ref] = s
	}
}
