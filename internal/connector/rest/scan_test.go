package rest

import (
	"context"
	"testing"
)

// A record tandem made, listed by a scan, whose key the system then gave
// to another record (it deleted the first and reuses the highest key)
// is still known to have been there: a create of it in doubt must not
// be made again over its users' delete, though no listing ever showed
// its key missing.
func TestScanRemembersARecordWhoseKeyWasReused(t *testing.T) {
	ctx := context.Background()
	listing := []Listed{{ID: "716", GID: "G716"}, {ID: "717", GID: "G-first"}}
	s := &Scan{Name: "accounts", Entity: "account", System: "shop",
		IDs: func(context.Context) ([]Listed, error) { return listing, nil }}
	scan := func() {
		t.Helper()
		out, tk, err := s.run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 0 {
			t.Fatalf("deletes reported: %+v", out)
		}
		if tk != nil {
			s.commit(tk)
		}
	}
	scan()
	if id, ok := s.Held("G-first"); !ok || id != "717" {
		t.Fatalf("Held(G-first) = %q, %v after the first listing", id, ok)
	}
	// Its users delete 717; the next create gets 717 again.
	listing = []Listed{{ID: "716", GID: "G716"}, {ID: "717", GID: "G-second"}}
	scan()
	if id, ok := s.Held("G-first"); !ok || id != "717" {
		t.Errorf("Held(G-first) = %q, %v: the record's stay under 717 was forgotten when the key was reused", id, ok)
	}
	if id, ok := s.Held("G-second"); !ok || id != "717" {
		t.Errorf("Held(G-second) = %q, %v", id, ok)
	}
	// A key taken by a row its users made (it carries no global id).
	s.Made("718", "G-third")
	listing = append(listing, Listed{ID: "718"})
	scan()
	if id, ok := s.Held("G-third"); !ok || id != "718" {
		t.Errorf("Held(G-third) = %q, %v after a users' row took its key", id, ok)
	}
	if _, ok := s.Held("G-never"); ok {
		t.Error("Held of a record never listed")
	}
}
