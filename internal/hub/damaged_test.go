package hub_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// breakable is a store that can be told it is damaged.
type breakable struct {
	store.Store
	broken chan error
}

func (b *breakable) Damaged() <-chan error { return b.broken }

// A store found damaged while the hub runs ends the run with the damage,
// instead of the hub retrying writes that cannot succeed.
func TestDamagedStoreStopsTheHub(t *testing.T) {
	b := &breakable{broken: make(chan error, 1)}
	f := newFixture(t, nil, func(cfg *config.Config, o *hub.Options) {
		s, err := store.OpenSQLite(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		b.Store = s
		o.Store = b
	})
	<-f.h.Ready()
	f.sys["a"].Put("account", "A1", record.Fields{"name": "Acme", "email": "a@example.com"})
	f.drain()
	if f.stopped(100 * time.Millisecond) {
		t.Fatalf("the hub stopped before the store was damaged: %v", f.runErr)
	}
	damage := &store.DamagedError{Path: "/data/tandem.db", Found: []string{"page 7: btreeInitPage() returns error code 11"}}
	b.broken <- damage
	if !f.stopped(20 * time.Second) {
		t.Fatal("the hub runs on 20s after its store was found damaged")
	}
	if !errors.Is(f.runErr, store.ErrDamaged) {
		t.Errorf("Run returned %v, want the store's damage", f.runErr)
	}
}
