package torture

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/sim"
)

// The CRM's users, played through its API: what they write is what
// Rows reads back, in canonical terms, and a record that is not there is
// errNotHere.
func TestCRMApp(t *testing.T) {
	srv := httptest.NewServer(sim.NewCRM(sim.Faults{}))
	defer srv.Close()
	a := newCRMApp("crm", srv.URL+"/v1")
	ctx := context.Background()
	acct := State{Name: "Größe & Söhne", Tier: "silver", Score: 42}
	if got, err := a.Create(ctx, Account, "A1", acct); err != nil || got != acct {
		t.Fatalf("create account = %v, %v; want %v", got, err, acct)
	}
	if _, err := a.Create(ctx, Contact, "C1", State{Name: "Ada", Account: "A9"}); !errors.Is(err, errNotHere) {
		t.Fatalf("create a contact of a missing account: %v; want errNotHere", err)
	}
	if got, err := a.Create(ctx, Contact, "C1", State{Name: "Ada", Account: "A1"}); err != nil || got.Account != "A1" {
		t.Fatalf("create contact = %v, %v", got, err)
	}
	gold := "gold"
	if got, err := a.Update(ctx, Account, "A1", Patch{Tier: &gold}); err != nil || got.Tier != "gold" || got.Score != 42 {
		t.Fatalf("update account = %v, %v", got, err)
	}
	none := ""
	if got, err := a.Update(ctx, Contact, "C1", Patch{Account: &none}); err != nil || got.Account != "" {
		t.Fatalf("clear a contact's account = %v, %v", got, err)
	}
	accts, err := a.Rows(ctx, Account)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{{Entity: Account, Key: accts[0].Key, Ref: "A1", State: State{Name: "Größe & Söhne", Tier: "gold", Score: 42}}}
	if d := cmp.Diff(want, accts); d != "" {
		t.Errorf("accounts (-want +got):\n%s", d)
	}
	if err := a.Delete(ctx, Contact, "C1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, Contact, "C1"); !errors.Is(err, errNotHere) {
		t.Errorf("delete a deleted contact: %v; want errNotHere", err)
	}
	if cs, err := a.Rows(ctx, Contact); err != nil || len(cs) != 0 {
		t.Errorf("contacts after the delete = %v, %v", cs, err)
	}
}
