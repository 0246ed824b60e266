package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/registry"
	"github.com/tandemhub/tandem/internal/deliver"
	"github.com/tandemhub/tandem/internal/health"
	"github.com/tandemhub/tandem/internal/resolve"
	"github.com/tandemhub/tandem/internal/store"
)

// Hub is one running tandem hub.
type Hub struct {
	cfg     *config.Config
	model   *Model
	store   store.Store
	systems map[string]registry.System
	// caps are each system's optional parts, asked for once at Open.
	caps     map[string]connector.Capabilities
	resolver *resolve.Resolver
	workers  map[string]*deliver.Worker
	wake     map[string]chan struct{}
	log      *slog.Logger
	// health is what capture and delivery last reported; Run writes it
	// to the data directory for status.
	health *health.Board

	readyCh chan struct{} // closed once the initial snapshots are done
}

// Options adjust a hub; the zero value is fine.
type Options struct {
	// Store replaces the embedded store opened from cfg.Store.Dir (which
	// the hub holds exclusively: see store.OpenExclusive).
	Store store.Store
	// Systems replaces connectors opened from the registry, by name (tests, bench).
	Systems map[string]registry.System
}

// Open compiles cfg, opens the store and connects to every system.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, opt Options) (*Hub, error) {
	model, err := Compile(cfg)
	if err != nil {
		return nil, err
	}
	// A value that changes on every trip would bounce between the
	// systems for ever: the mapping is a mistake, as tandem check says.
	loops, lossy := model.Drifts(cfg)
	if len(loops) > 0 {
		return nil, loops
	}
	for _, w := range lossy {
		log.Warn(w.Error())
	}
	h := &Hub{cfg: cfg, model: model, systems: map[string]registry.System{}, caps: map[string]connector.Capabilities{}, log: log,
		workers: map[string]*deliver.Worker{}, wake: map[string]chan struct{}{}, readyCh: make(chan struct{}),
		health: health.NewBoard()}
	h.store = opt.Store
	if h.store == nil {
		if h.store, err = store.OpenExclusive(ctx, cfg.Store.Dir); err != nil {
			return nil, err
		}
	}
	for _, name := range cfg.SystemNames() {
		if s, ok := opt.Systems[name]; ok {
			h.systems[name] = s
			continue
		}
		s, err := registry.Open(ctx, name, cfg.Systems[name], model.Tables(name), log.With("system", name))
		if err != nil {
			_ = h.Close(ctx)
			return nil, fmt.Errorf("connect to system %q: %w", name, err)
		}
		h.systems[name] = s
	}
	for name, s := range h.systems {
		h.caps[name] = connector.CapabilitiesOf(s)
	}
	h.resolver = resolve.New(cfg, model.Maps, model.Schemas, log)
	for _, name := range cfg.SystemNames() {
		sys := cfg.Systems[name]
		d := cfg.Delivery
		if sys.Delivery != nil {
			d = *sys.Delivery
		}
		maps := model.Maps[name]
		if len(maps) == 0 {
			continue
		}
		captures := map[string]bool{}
		for _, ent := range h.capturedEntities(name) {
			captures[ent] = true
		}
		h.workers[name] = &deliver.Worker{System: name, Dst: h.systems[name], Store: h.store, Maps: maps,
			Order: cfg.EntityOrder(), Batch: sys.Batch, Log: log.With("system", name), Now: time.Now,
			WaitRetry: 500 * time.Millisecond, Captures: captures, Vanished: h.vanished(name),
			Health: h.deliveryHealth(name),
			Policy: deliver.Policy{Attempts: d.Attempts, Backoff: d.Backoff.D(), MaxBackoff: d.MaxBackoff.D()}}
		if h.caps[name].ReadsBack {
			h.workers[name].MarkSent = true
			if h.resolver.ReadsBack == nil {
				h.resolver.ReadsBack = map[string]bool{}
			}
			h.resolver.ReadsBack[name] = true
			h.resolver.Started = time.Now()
		}
		if a := h.caps[name].Announcer; a != nil {
			a.Announce(h.workers[name].Announced)
			a.AnnounceAnswered(h.workers[name].Answered)
		}
		h.wake[name] = make(chan struct{}, 1)
	}
	return h, nil
}

// vanished is how system's delivery worker applies a delete its users
// made that tandem found while writing there.
func (h *Hub) vanished(system string) func(tx store.Tx, entity, key, gid, why string) error {
	return func(tx store.Tx, entity, key, gid, why string) error {
		st, err := h.resolver.Vanished(tx, system, entity, key, gid, why)
		if err != nil {
			return err
		}
		for _, c := range st {
			c.Captured = 0 // found by delivery, not captured
			if err := tx.AddCount(*c); err != nil {
				return err
			}
		}
		h.wakeAll()
		return nil
	}
}

// Store is the hub's store.
func (h *Hub) Store() store.Store { return h.store }

// Setup installs capture in every system (idempotent).
func (h *Hub) Setup(ctx context.Context) error {
	var errs []error
	for _, name := range h.cfg.SystemNames() {
		if err := h.systems[name].Setup(ctx); err != nil {
			errs = append(errs, fmt.Errorf("set up system %q: %w", name, err))
			continue
		}
		h.log.Info("capture installed", "system", name)
	}
	return errors.Join(errs...)
}

// Check fails when a system's capture is not installed as its mapping
// needs (see connector.Checker), naming every such system.
func (h *Hub) Check(ctx context.Context) error {
	var errs []error
	for _, name := range h.cfg.SystemNames() {
		if c := h.caps[name].Checker; c != nil {
			if err := c.Check(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Ready is closed once every system's initial snapshot is in (delivery to a
// system may have started before, see awaitDelivery).
func (h *Hub) Ready() <-chan struct{} { return h.readyCh }

// Run captures, resolves and delivers until ctx ends. Delivery to a
// system starts once the rows it already holds are known, so records
// that exist on both sides are matched, not copied twice: once its own
// initial snapshot is in, when it holds no rows of the entities it only
// receives (or they were adopted before), else once every system's
// snapshot is in and its copies are adopted (see awaitDelivery).
//
// Every loop runs under one errgroup. Capture, reports and maintenance
// never give up on a system (they retry, and say so in status); a loop
// that returns an error (a delivery worker that cannot go on, a store
// found damaged) stops the others, and Run returns that error once all
// have finished what they held.
func (h *Hub) Run(ctx context.Context) error {
	if err := h.Check(ctx); err != nil {
		return err
	}
	// Creates in flight when the last run ended may have happened.
	if err := h.store.Update(ctx, func(tx store.Tx) error { return tx.Unsettle() }); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	if d, ok := h.store.(interface{ Damaged() <-chan error }); ok {
		// A store found damaged ends the run: every write would fail for
		// good, while the hub looked busy retrying.
		g.Go(func() error {
			select {
			case err := <-d.Damaged():
				h.log.Error("the store is damaged; stopping", "err", err)
				return err
			case <-ctx.Done():
				return nil
			}
		})
	}
	listening := make(chan error, 1)
	g.Go(func() error { h.serveWebhooks(ctx, listening); return nil })
	if err := <-listening; err != nil {
		cancel()
		return errors.Join(fmt.Errorf("listen for webhooks on %s: %w", h.cfg.Listen, err), g.Wait())
	}
	g.Go(func() error { h.health.Run(ctx, h.cfg.Store.Dir, healthInterval, h.log); return nil })
	var snap sync.WaitGroup
	snapped := map[string]chan struct{}{}
	for _, name := range h.cfg.SystemNames() {
		if len(h.capturedEntities(name)) == 0 {
			continue
		}
		own := make(chan struct{})
		snapped[name] = own
		snap.Add(1)
		g.Go(func() error {
			h.capture(ctx, name, func() { close(own); snap.Done() })
			return nil
		})
	}
	h.startReports(ctx, g)
	for name, w := range h.workers {
		g.Go(func() error {
			if !h.awaitDelivery(ctx, name, snapped[name]) {
				return nil
			}
			// Copies the system already holds are linked before anything
			// is delivered to it.
			h.adopt(ctx, name)
			if err := w.Run(ctx, h.wake[name], h.cfg.Systems[name].Poll.D()); err != nil {
				return fmt.Errorf("delivery to %s stopped: %w", name, err)
			}
			return nil
		})
	}
	snap.Wait()
	if ctx.Err() == nil {
		h.log.Info("initial snapshots done")
		close(h.readyCh)
	}
	g.Go(func() error { h.maintain(ctx); return nil })
	return g.Wait()
}

// Close disconnects from every system and closes the store.
func (h *Hub) Close(ctx context.Context) error {
	var errs []error
	for name, s := range h.systems {
		if err := s.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close system %q: %w", name, err))
		}
	}
	if h.store != nil {
		errs = append(errs, h.store.Close())
	}
	return errors.Join(errs...)
}

func (h *Hub) wakeAll() {
	for _, ch := range h.wake {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// capturedEntities lists the entities whose changes are captured from system, parents first.
func (h *Hub) capturedEntities(system string) []string {
	var out []string
	for _, ent := range h.cfg.EntityOrder() {
		if h.model.Maps[system][ent] == nil {
			continue
		}
		for _, s := range h.cfg.Captures(ent) {
			if s == system {
				out = append(out, ent)
				break
			}
		}
	}
	return out
}

// Sources returns the hub's systems as sources, by name (for verification).
func (h *Hub) Sources() map[string]connector.Source {
	out := make(map[string]connector.Source, len(h.systems))
	for n, s := range h.systems {
		out[n] = s
	}
	return out
}

// Model is the compiled configuration.
func (h *Hub) Model() *Model { return h.model }

// Held lists records with changes waiting for a parent (system entity key).
func (h *Hub) Held() []string {
	var out []string
	_ = h.store.View(context.Background(), func(tx store.Tx) error {
		held, err := tx.HeldChanges(1 << 20)
		seen := map[string]bool{}
		for _, c := range held {
			k := c.System + " " + c.Entity + " " + c.Key
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
		return err
	})
	slices.Sort(out)
	return out
}
