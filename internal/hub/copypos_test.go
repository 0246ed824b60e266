package hub

import (
	"context"
	"errors"
	"testing"

	"github.com/tandemhub/tandem/internal/store"
	"github.com/tandemhub/tandem/internal/store/memory"
)

// A copy's position says where it stands and whether it is done, as a
// field; stores of earlier tandems, which kept the source's cursor or a
// marker in its place, read as they meant.
func TestCopyPositions(t *testing.T) {
	st := memory.New()
	ctx := context.Background()
	put := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := st.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	put(func(tx store.Tx) error {
		return errors.Join(tx.PutCursor("crm", "snapshot/account", legacyDone), tx.PutCursor("crm", "snapshot/contact", "page-7"),
			putCopyPos(tx, "erp", "snapshot/account", copyPos{After: "\x00done-looking cursor"}),
			putCopyPos(tx, "erp", "adopt/contact", copyPos{After: "x", Done: true}))
	})
	for _, tc := range []struct {
		system, name string
		want         copyPos
	}{
		{"crm", "snapshot/account", copyPos{Done: true}},
		{"crm", "snapshot/contact", copyPos{After: "page-7"}},
		{"crm", "snapshot/product", copyPos{}},
		{"erp", "snapshot/account", copyPos{After: "\x00done-looking cursor"}},
		{"erp", "adopt/contact", copyPos{After: "x", Done: true}},
	} {
		var got copyPos
		if err := st.View(ctx, func(tx store.Tx) error {
			var err error
			got, err = loadCopyPos(tx, tc.system, tc.name)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s %s: %+v, want %+v", tc.system, tc.name, got, tc.want)
		}
	}
}
