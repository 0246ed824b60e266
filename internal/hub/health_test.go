package hub_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector/memory"
	"github.com/tandemhub/tandem/internal/health"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// brokenStore is a store whose writes fail while broken is set.
type brokenStore struct {
	store.Store
	broken atomic.Bool
}

var errDisk = errors.New("disk I/O error (test)")

func (s *brokenStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.broken.Load() {
		return errDisk
	}
	return s.Store.Update(ctx, fn)
}

// waitHealth waits until the hub's health file satisfies ok.
func waitHealth(t *testing.T, cfg *config.Config, what string, ok func(*health.File) error) *health.File {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		f, err := health.Read(cfg.Store.Dir)
		if err == nil {
			err = ok(f)
		}
		if err == nil {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("health file: no %s within 20s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func failing(c *health.Condition, want string) error {
	switch {
	case c == nil:
		return errors.New("not reported")
	case c.OK:
		return fmt.Errorf("ok since %v", c.Since)
	case !strings.Contains(c.Error, want):
		return fmt.Errorf("failing with %q, want %q in it", c.Error, want)
	}
	return nil
}

func working(c *health.Condition) error {
	if c == nil || !c.OK {
		return fmt.Errorf("%+v, want ok", c)
	}
	return nil
}

// A capture that fails on every store write shows in the health file —
// which does not go through the store — as failing since it began, with
// the error, until the store takes writes again.
func TestHealthShowsCaptureFailingToStore(t *testing.T) {
	var st *brokenStore
	f := newFixture(t, nil, func(cfg *config.Config, opt *hub.Options) {
		s, err := store.OpenExclusive(context.Background(), cfg.Store.Dir)
		if err != nil {
			t.Fatal(err)
		}
		st = &brokenStore{Store: s}
		opt.Store = st
	})
	<-f.h.Ready()
	waitHealth(t, f.cfg, "a's capture working", func(h *health.File) error { return working(h.Systems["a"].Capture) })
	st.broken.Store(true)
	f.sys["a"].Put("account", "A1", record.Fields{"name": "Acme", "email": "x@acme.test"})
	h := waitHealth(t, f.cfg, "a's capture failing", func(h *health.File) error {
		return failing(h.Systems["a"].Capture, "storing changes: "+errDisk.Error())
	})
	if c := h.Systems["a"].Capture; c.Since.IsZero() || c.Attempts < 1 {
		t.Errorf("failing capture %+v: want since when and attempts", c)
	}
	if alive, why := h.Alive(time.Now()); !alive {
		t.Errorf("the running hub's health file reads as not running: %s", why)
	}
	st.broken.Store(false)
	waitHealth(t, f.cfg, "a's capture working again", func(h *health.File) error { return working(h.Systems["a"].Capture) })
	f.drain()
	if n := len(f.sys["b"].Rows("account")); n != 1 {
		t.Errorf("b holds %d accounts after the store recovered, want 1", n)
	}
}

// A destination that fails every write shows as delivery failing, with
// its error, until it answers again.
func TestHealthShowsDestinationDown(t *testing.T) {
	var down atomic.Bool
	f := newFixture(t, func(s map[string]*memory.System) {
		s["b"].Fail = func(string, []record.Write) error {
			if down.Load() {
				return errors.New("connection refused (test)")
			}
			return nil
		}
	})
	<-f.h.Ready()
	down.Store(true)
	f.sys["a"].Put("account", "A1", record.Fields{"name": "Acme", "email": "x@acme.test"})
	waitHealth(t, f.cfg, "b's delivery failing", func(h *health.File) error {
		return failing(h.Systems["b"].Delivery, "connection refused (test)")
	})
	if c := f.h.Health().Systems["c"].Delivery; c == nil || !c.OK {
		t.Errorf("c's delivery = %+v while only b is down; want ok", c)
	}
	down.Store(false)
	waitHealth(t, f.cfg, "b's delivery working again", func(h *health.File) error { return working(h.Systems["b"].Delivery) })
	f.drain()
}

// A hub that stops says so in its health file.
func TestHealthFileSaysStopped(t *testing.T) {
	f := newFixture(t, nil)
	<-f.h.Ready()
	waitHealth(t, f.cfg, "a running hub", func(h *health.File) error {
		if alive, why := h.Alive(time.Now()); !alive {
			return errors.New(why)
		}
		return nil
	})
	f.cancel()
	if !f.stopped(30 * time.Second) {
		t.Fatal("the hub did not stop")
	}
	h, err := health.Read(f.cfg.Store.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if alive, _ := h.Alive(time.Now()); alive || h.Stopped.IsZero() {
		t.Errorf("health file of a stopped hub: stopped %v, alive %v", h.Stopped, alive)
	}
}
