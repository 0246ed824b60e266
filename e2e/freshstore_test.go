package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFreshStoreOnSystemsInStep: three systems are kept in step by one
// hub, then its data directory is lost. A hub started on a fresh store
// finds every record in every system and links them again, by natural
// key and by the global ids the systems' rows carry: nothing is dead-
// lettered, nothing is made twice, no system's record is made anew, and
// changes flow as before.
func TestFreshStoreOnSystemsInStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, configOptions{})
	e.startHub()
	ctx := context.Background()
	countries := []string{"US", "DE", "FR", "GB"}

	// Accounts made in every system, contacts of accounts made
	// elsewhere, and products, which accounting and the CRM only receive:
	// a fresh store finds their copies there by SKU.
	for i := range 3 {
		if _, err := e.sys[catalogue].exec(ctx, `INSERT INTO products (sku, title, price) VALUES ($1, $2, $3)`,
			fmt.Sprintf("FRS-%04d", i), fmt.Sprintf("Fresh item %d", i), 10.5+float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range systemNames {
		for j := range 4 {
			email := fmt.Sprintf("%s%d@fresh.example", s, j)
			if _, err := e.sys[s].createAccount(ctx, e.sys[s].db, fmt.Sprintf("%s account %d", s, j), email, countries[(i+j)%4]); err != nil {
				t.Fatal(err)
			}
		}
	}
	hs := e.agree(60 * time.Second)
	for i, s := range systemNames {
		parent := systemNames[(i+1)%3]
		for j := range 3 {
			acc := hs[s].accounts[fmt.Sprintf("%s%d@fresh.example", parent, j)].Key
			if _, err := e.sys[s].createContact(ctx, e.sys[s].db, "Pat", fmt.Sprintf("%s contact %d", s, j),
				fmt.Sprintf("%s.c%d@fresh.example", s, j), acc); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.agree(60 * time.Second)
	e.drain(60 * time.Second)
	before, err := e.holdings()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range systemNames {
		if n := len(before[s].accounts); n != 12 {
			t.Fatalf("%s holds %d accounts before the store is lost, want 12", s, n)
		}
		if n := len(before[s].contacts); n != 9 {
			t.Fatalf("%s holds %d contacts before the store is lost, want 9", s, n)
		}
		if n := len(before[s].products); n != 3 {
			t.Fatalf("%s holds %d products before the store is lost, want 3", s, n)
		}
	}

	// The data directory is lost; a new hub starts on a fresh store.
	e.hub.stop()
	if err := os.RemoveAll(filepath.Join(e.dir, "store")); err != nil {
		t.Fatal(err)
	}
	e.startHub()
	e.drain(60 * time.Second)
	after := e.agree(30 * time.Second)
	e.noDeadLetters()
	for _, s := range systemNames {
		b, a := before[s], after[s]
		for _, d := range a.dupes {
			t.Errorf("%s holds %s more than once", s, d)
		}
		if len(a.products) != len(b.products) {
			t.Errorf("%s holds %d products; before the store was lost %d", s, len(a.products), len(b.products))
		}
		for sku, p := range b.products {
			if a.products[sku] != p {
				t.Errorf("%s: product %s was %+v, is %+v", s, sku, p, a.products[sku])
			}
		}
		if len(a.accounts) != len(b.accounts) || len(a.contacts) != len(b.contacts) {
			t.Errorf("%s holds %d accounts and %d contacts; before the store was lost %d and %d", s,
				len(a.accounts), len(a.contacts), len(b.accounts), len(b.contacts))
		}
		for email, acc := range b.accounts {
			if a.accounts[email] != acc {
				t.Errorf("%s: account %s was %+v, is %+v", s, email, acc, a.accounts[email])
			}
		}
		for email, c := range b.contacts {
			if a.contacts[email] != c {
				t.Errorf("%s: contact %s was %+v, is %+v", s, email, c, a.contacts[email])
			}
		}
	}
	for _, s := range systemNames {
		email := fmt.Sprintf("%s0@fresh.example", s)
		gid, keys, state, err := e.links("account", s, before[s].accounts[email].Key)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, o := range systemNames {
			want[o] = before[o].accounts[email].Key
		}
		if fmt.Sprint(keys) != fmt.Sprint(want) || state != "live" {
			t.Errorf("account %s is linked as %s %v (%s), want the keys the systems hold, %v", email, gid, keys, state, want)
		}
	}

	// Changes flow from every system as before.
	cr, acc, cat := e.sys[crm], e.sys[accounting], e.sys[catalogue]
	if _, err := cr.exec(ctx, `UPDATE companies SET company_name = 'Renamed after the store was lost' WHERE email = ?`, "catalogue1@fresh.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.createAccount(ctx, acc.db, "Made after the store was lost", "late@fresh.example", "FR"); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.exec(ctx, `DELETE FROM contacts WHERE email = $1`, "catalogue.c0@fresh.example"); err != nil {
		t.Fatal(err)
	}
	hs = e.agree(30 * time.Second)
	for _, s := range systemNames {
		if got := hs[s].accounts["catalogue1@fresh.example"].Name; got != "Renamed after the store was lost" {
			t.Errorf("%s: the renamed account is named %q", s, got)
		}
		if _, ok := hs[s].accounts["late@fresh.example"]; !ok || len(hs[s].accounts) != 13 {
			t.Errorf("%s holds %d accounts, want the 12 and the new one", s, len(hs[s].accounts))
		}
		if _, ok := hs[s].contacts["catalogue.c0@fresh.example"]; ok {
			t.Errorf("%s still holds the deleted contact", s)
		}
	}
	e.drain(30 * time.Second)
	e.noDeadLetters()
}
