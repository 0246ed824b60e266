package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// TestSyncAcrossThreeDatabases: a record created, updated or deleted in
// any of the three systems is created, updated or deleted in the other
// two, under each system's own key; a contact points at its account's
// key in each system; products flow one way from the catalogue, and only
// active ones reach accounting.
func TestSyncAcrossThreeDatabases(t *testing.T) {
	t.Parallel()
	e := newEnv(t, configOptions{})
	e.startHub()
	ctx := context.Background()
	cat, acc, cr := e.sys[catalogue], e.sys[accounting], e.sys[crm]

	// One account created in each system.
	origin := map[string]string{"alpha@e2e.example": catalogue, "beta@e2e.example": accounting, "gamma@e2e.example": crm}
	originKey := map[string]string{}
	var err error
	if originKey["alpha@e2e.example"], err = cat.createAccount(ctx, cat.db, "Alpha GmbH", "alpha@e2e.example", "DE"); err != nil {
		t.Fatal(err)
	}
	if originKey["beta@e2e.example"], err = acc.createAccount(ctx, acc.db, "Beta SARL", "beta@e2e.example", "FR"); err != nil {
		t.Fatal(err)
	}
	if originKey["gamma@e2e.example"], err = cr.createAccount(ctx, cr.db, "Gamma Ltd", "gamma@e2e.example", "GB"); err != nil {
		t.Fatal(err)
	}
	hs := e.agree(30 * time.Second)
	want := map[string]account{
		"alpha@e2e.example": {Name: "Alpha GmbH", Country: "DE"},
		"beta@e2e.example":  {Name: "Beta SARL", Country: "FR"},
		"gamma@e2e.example": {Name: "Gamma Ltd", Country: "GB"},
	}
	checkAccounts(t, hs, want)
	gids := map[string]bool{}
	for email, sys := range origin {
		if got := hs[sys].accounts[email].Key; got != originKey[email] {
			t.Errorf("%s: the account created in %s has key %q there, want %q (the key it was created with)", email, sys, got, originKey[email])
		}
		// The systems that make their own keys gave the copies integer keys.
		for _, s := range []string{catalogue, accounting} {
			if _, err := strconv.ParseInt(hs[s].accounts[email].Key, 10, 64); err != nil {
				t.Errorf("%s: key %q in %s is not one the database generated", email, hs[s].accounts[email].Key, s)
			}
		}
		gid, keys, state, err := e.links("account", sys, originKey[email])
		if err != nil {
			t.Fatal(err)
		}
		wantKeys := map[string]string{}
		for _, s := range systemNames {
			wantKeys[s] = hs[s].accounts[email].Key
		}
		if fmt.Sprint(keys) != fmt.Sprint(wantKeys) || state != "live" {
			t.Errorf("tandem links account %s:%s = %v (%s); want the keys the systems hold, %v (live)", sys, originKey[email], keys, state, wantKeys)
		}
		if gids[gid] {
			t.Errorf("two accounts share the global id %s", gid)
		}
		gids[gid] = true
	}

	// Contacts created in each system, each pointing at an account by that
	// system's own key of it.
	key := func(sys, email string) string { return hs[sys].accounts[email].Key }
	if _, err := acc.createContact(ctx, acc.db, "Ann", "Archer", "ann@e2e.example", key(accounting, "beta@e2e.example")); err != nil {
		t.Fatal(err)
	}
	carl, err := cr.createContact(ctx, cr.db, "Carl", "Cole", "carl@e2e.example", key(crm, "alpha@e2e.example"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.createContact(ctx, cat.db, "Gus", "Grant", "gus@e2e.example", key(catalogue, "gamma@e2e.example")); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.createContact(ctx, cat.db, "Nora", "Nobody", "nora@e2e.example", ""); err != nil {
		t.Fatal(err)
	}
	hs = e.agree(30 * time.Second)
	checkContacts(t, hs, map[string]contact{
		"ann@e2e.example":  {First: "Ann", Last: "Archer", AccountEmail: "beta@e2e.example"},
		"carl@e2e.example": {First: "Carl", Last: "Cole", AccountEmail: "alpha@e2e.example"},
		"gus@e2e.example":  {First: "Gus", Last: "Grant", AccountEmail: "gamma@e2e.example"},
		"nora@e2e.example": {First: "Nora", Last: "Nobody"},
	})

	// Updates follow, from whichever system makes them: a rename and a
	// country in accounting's own words, a contact moved to another account.
	if _, err := acc.exec(ctx, `UPDATE clients SET cust_name = ?, country_name = ? WHERE mail = ?`, "Alpha AG", "United Kingdom", "alpha@e2e.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := cr.exec(ctx, `UPDATE people SET last = ?, company_id = ? WHERE email = ?`, "Archer-Smith", key(crm, "gamma@e2e.example"), "ann@e2e.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.exec(ctx, `UPDATE customers SET name = $1 WHERE email = $2`, "Gamma Holdings", "gamma@e2e.example"); err != nil {
		t.Fatal(err)
	}
	hs = e.agree(30 * time.Second)
	want["alpha@e2e.example"] = account{Name: "Alpha AG", Country: "GB"}
	want["gamma@e2e.example"] = account{Name: "Gamma Holdings", Country: "GB"}
	checkAccounts(t, hs, want)
	checkContacts(t, hs, map[string]contact{
		"ann@e2e.example":  {First: "Ann", Last: "Archer-Smith", AccountEmail: "gamma@e2e.example"},
		"carl@e2e.example": {First: "Carl", Last: "Cole", AccountEmail: "alpha@e2e.example"},
		"gus@e2e.example":  {First: "Gus", Last: "Grant", AccountEmail: "gamma@e2e.example"},
		"nora@e2e.example": {First: "Nora", Last: "Nobody"},
	})

	// Deletes follow: a contact deleted in the CRM, an account (no longer
	// anyone's) deleted in accounting, a contact deleted in the catalogue.
	betaKey := key(accounting, "beta@e2e.example")
	if n, err := cr.exec(ctx, `DELETE FROM people WHERE person_id = ?`, carl); err != nil || n != 1 {
		t.Fatalf("delete carl in crm: %d rows, %v", n, err)
	}
	if n, err := acc.exec(ctx, `DELETE FROM clients WHERE cust_no = ?`, betaKey); err != nil || n != 1 {
		t.Fatalf("delete beta in accounting: %d rows, %v", n, err)
	}
	if n, err := cat.exec(ctx, `DELETE FROM contacts WHERE email = $1`, "nora@e2e.example"); err != nil || n != 1 {
		t.Fatalf("delete nora in catalogue: %d rows, %v", n, err)
	}
	hs = e.agree(30 * time.Second)
	delete(want, "beta@e2e.example")
	checkAccounts(t, hs, want)
	checkContacts(t, hs, map[string]contact{
		"ann@e2e.example": {First: "Ann", Last: "Archer-Smith", AccountEmail: "gamma@e2e.example"},
		"gus@e2e.example": {First: "Gus", Last: "Grant", AccountEmail: "gamma@e2e.example"},
	})
	if _, _, state, err := e.links("account", accounting, betaKey); err != nil || state != "deleted" {
		t.Errorf("tandem links of the deleted account: state %q, %v; want deleted", state, err)
	}

	// Products go one way, from the catalogue; accounting keeps prices in
	// cents and takes only active products.
	if _, err := cat.exec(ctx, `INSERT INTO products (sku, title, price, active) VALUES ($1, $2, $3, true), ($4, $5, $6, false)`,
		"DSK-0001", "Oak desk", 199.99, "LMP-0002", "Desk lamp", 19.5); err != nil {
		t.Fatal(err)
	}
	hs = e.agree(30 * time.Second)
	for _, s := range []string{accounting, crm} {
		if _, ok := hs[s].products["DSK-0001"]; !ok {
			t.Errorf("product DSK-0001 is not in %s", s)
		}
	}
	if _, ok := hs[crm].products["LMP-0002"]; !ok {
		t.Errorf("inactive product LMP-0002 is not in crm")
	}
	if _, ok := hs[accounting].products["LMP-0002"]; ok {
		t.Errorf("inactive product LMP-0002 reached accounting, whose filter is `active`")
	}
	cents := func() (c int64) {
		if err := acc.db.QueryRowContext(ctx, `SELECT price_cents FROM items WHERE code = 'DSK-0001'`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := cents(); c != 19999 {
		t.Errorf("accounting price_cents of DSK-0001 = %d, want 19999", c)
	}
	if _, err := cat.exec(ctx, `UPDATE products SET price = 249.5, title = 'Walnut desk' WHERE sku = 'DSK-0001'`); err != nil {
		t.Fatal(err)
	}
	hs = e.agree(30 * time.Second)
	if c := cents(); c != 24950 {
		t.Errorf("accounting price_cents of DSK-0001 after the update = %d, want 24950", c)
	}
	if p := hs[crm].products["DSK-0001"]; p.Title != "Walnut desk" || p.Price != 249.5 {
		t.Errorf("crm product DSK-0001 after the update = %+v", p)
	}
	if _, err := cat.exec(ctx, `DELETE FROM products WHERE sku = 'DSK-0001'`); err != nil {
		t.Fatal(err)
	}
	hs = e.agree(30 * time.Second)
	for _, s := range systemNames {
		if _, ok := hs[s].products["DSK-0001"]; ok {
			t.Errorf("deleted product DSK-0001 is still in %s", s)
		}
	}
	e.noDeadLetters()
}

// checkAccounts asserts every system holds exactly the wanted accounts.
func checkAccounts(t *testing.T, hs map[string]*holdings, want map[string]account) {
	t.Helper()
	for _, s := range systemNames {
		if len(hs[s].accounts) != len(want) {
			t.Errorf("%s holds %d accounts, want %d: %v", s, len(hs[s].accounts), len(want), keys(hs[s].accounts))
		}
		for email, w := range want {
			got, ok := hs[s].accounts[email]
			if !ok {
				t.Errorf("account %s is not in %s", email, s)
				continue
			}
			if got.Name != w.Name || got.Country != w.Country {
				t.Errorf("account %s in %s: %q/%q, want %q/%q", email, s, got.Name, got.Country, w.Name, w.Country)
			}
		}
	}
}

// checkContacts asserts every system holds exactly the wanted contacts,
// each pointing, by that system's own key, at the wanted account.
func checkContacts(t *testing.T, hs map[string]*holdings, want map[string]contact) {
	t.Helper()
	for _, s := range systemNames {
		if len(hs[s].contacts) != len(want) {
			t.Errorf("%s holds %d contacts, want %d: %v", s, len(hs[s].contacts), len(want), keys(hs[s].contacts))
		}
		for email, w := range want {
			got, ok := hs[s].contacts[email]
			if !ok {
				t.Errorf("contact %s is not in %s", email, s)
				continue
			}
			if got.First != w.First || got.Last != w.Last {
				t.Errorf("contact %s in %s: %q %q, want %q %q", email, s, got.First, got.Last, w.First, w.Last)
			}
			wantKey := ""
			if w.AccountEmail != "" {
				wantKey = hs[s].accounts[w.AccountEmail].Key
			}
			if got.AccountKey != wantKey || got.AccountEmail != w.AccountEmail {
				t.Errorf("contact %s in %s points at account key %q (%s), want %q (%s)", email, s, got.AccountKey, got.AccountEmail, wantKey, w.AccountEmail)
			}
		}
	}
}
