package memory_test

import (
	"testing"

	"github.com/tandemhub/tandem/internal/store"
	"github.com/tandemhub/tandem/internal/store/memory"
	"github.com/tandemhub/tandem/internal/store/storetest"
)

// The in-memory store passes the store's acceptance suite; a reopen
// finds the same store, as nothing of it lives outside the process.
func TestMemoryAcceptance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		s := memory.New()
		return s, func() store.Store { return s }
	})
}
