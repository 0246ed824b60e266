package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tandemhub/tandem/internal/sim"
)

// startCRM serves the CRM simulator the demo syncs with (a system reached
// only through its rate-limited REST API) on a loopback port. It refuses
// beyond 150 requests a second, fails 1% of requests with 500 and answers
// in a few milliseconds, so the demo shows tandem pacing and retrying.
func startCRM(ctx context.Context) (*sim.CRM, string, func(), error) {
	crm := sim.NewCRM(sim.Faults{Rate: 150, Burst: 20, ErrorRate: 0.01, Latency: time.Millisecond, Jitter: 3 * time.Millisecond})
	// Records of its own before tandem starts, one account shared with
	// the catalogue by email (matched, not copied twice).
	acme, err := crm.Store.Create("accounts", map[string]any{"name": "Acme", "email": "billing@acme.example", "country": "GB"})
	if err != nil {
		return nil, "", nil, err
	}
	if _, err := crm.Store.Create("contacts", map[string]any{"name": "Wile Coyote", "email": "wile@acme.example", "account_id": acme.ID}); err != nil {
		return nil, "", nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: crm, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err
		}
	}()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	return crm, "http://" + ln.Addr().String() + "/v1", stop, nil
}

// simApp edits the CRM simulator as its own users would, through its store.
type simApp struct {
	crm   *sim.CRM
	rng   *rand.Rand
	edits atomic.Int64
}

func newSimApp(crm *sim.CRM, seed uint64) *simApp {
	return &simApp{crm: crm, rng: rand.New(rand.NewPCG(seed, 4))}
}

// run edits at rate edits a second until ctx ends.
func (a *simApp) run(ctx context.Context, rate float64) {
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if a.edit() == nil {
			a.edits.Add(1)
		}
	}
}

func (a *simApp) pick(coll string) string {
	live := a.crm.Store.Live(coll)
	if len(live) == 0 {
		return ""
	}
	ids := make([]string, 0, len(live))
	for id := range live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids[a.rng.IntN(len(ids))]
}

func (a *simApp) edit() error {
	s := a.crm.Store
	email := fmt.Sprintf("crmsim.%08x@example.com", a.rng.Uint32())
	company := fmt.Sprintf("%s %s", companies[a.rng.IntN(len(companies))], []string{"Ltd", "GmbH", "SA", "Inc"}[a.rng.IntN(4)])
	person := firstNames[a.rng.IntN(len(firstNames))] + " " + lastNames[a.rng.IntN(len(lastNames))]
	switch n := a.rng.IntN(100); {
	case n < 35:
		_, err := s.Create("accounts", map[string]any{"name": company, "email": email, "country": []string{"US", "DE", "FR", "GB"}[a.rng.IntN(4)]})
		return err
	case n < 60:
		acc := a.pick("accounts")
		if acc == "" {
			return nil
		}
		_, err := s.Create("contacts", map[string]any{"name": person, "email": email, "account_id": acc})
		return err
	case n < 75:
		if id := a.pick("accounts"); id != "" {
			_, err := s.Update("accounts", id, map[string]any{"name": company})
			return err
		}
	case n < 90:
		if id := a.pick("contacts"); id != "" {
			_, err := s.Update("contacts", id, map[string]any{"name": person})
			return err
		}
	default:
		if id := a.pick("contacts"); id != "" {
			return s.Delete("contacts", id)
		}
	}
	return nil
}
