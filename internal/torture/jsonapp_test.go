package torture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tandemhub/tandem/internal/testenv"
)

// The shop's json-server refuses an update naming an updatedAt the
// record no longer has, stores nothing of it, and takes one naming the
// current one (or null, for a record that has none), like any update.
func TestShopUpdatesAreConditional(t *testing.T) {
	_, _, patch := newShop(t, map[string]any{"code": "A1", "name": "Acme"})
	if code, _ := patch(`{"name": "Acme 1", "if_updatedAt": null}`); code != 200 {
		t.Fatalf("an update naming no updatedAt of a record without one: %d, want 200", code)
	}
	if code, _ := patch(`{"updatedAt": 1000, "name": "Acme 2"}`); code != 200 {
		t.Fatalf("a user's update: %d", code)
	}
	if code, _ := patch(`{"name": "Acme 3", "if_updatedAt": 999}`); code != 409 {
		t.Fatalf("an update naming an updatedAt the record no longer has: %d, want 409", code)
	}
	code, out := patch(`{"name": "Acme 4", "if_updatedAt": 1000}`)
	if code != 200 || out["name"] != "Acme 4" {
		t.Fatalf("an update naming the record's updatedAt: %d %v", code, out)
	}
	if _, ok := out["if_updatedAt"]; ok {
		t.Errorf("the condition was stored in the record: %v", out)
	}
}

// The shop's users delete only records they have had in front of them
// for a while: the first try at a record just come across does nothing.
func TestShopUsersDeleteOnlyRecordsTheyHaveSeen(t *testing.T) {
	app, _, _ := newShop(t, map[string]any{"code": "A1", "name": "Acme"})
	ctx := context.Background()
	if err := app.Delete(ctx, Account, "A1"); !errors.Is(err, errNotHere) {
		t.Fatalf("delete of a record just come across: %v, want errNotHere", err)
	}
	if _, err := app.find(ctx, Account, "A1"); err != nil {
		t.Fatalf("the record went: %v", err)
	}
	app.mu.Lock()
	for k, at := range app.seen {
		app.seen[k] = at.Add(-deleteAfterSeen)
	}
	app.mu.Unlock()
	if err := app.Delete(ctx, Account, "A1"); err != nil {
		t.Fatalf("delete of a record seen %s ago: %v", deleteAfterSeen, err)
	}
	if _, err := app.find(ctx, Account, "A1"); !errors.Is(err, errNotHere) {
		t.Fatalf("the record is still there: %v", err)
	}
}

// A conditional update and a user's update racing each other: whenever
// both are taken, the conditional one was checked and written before the
// user's, so the user's edit is what the record holds. (json-server pauses
// each request before its router writes; a check made before that pause
// let tandem's update overwrite a user's that landed during it.)
func TestShopConditionalUpdateIsOneStep(t *testing.T) {
	app, id, patchBody := newShop(t, map[string]any{"code": "A1", "name": "Acme", "updatedAt": 1})
	ctx := context.Background()
	patch := func(body string) int { code, _ := patchBody(body); return code }
	for i := range 60 {
		stamp := i*2 + 1 // the record's updatedAt before this round
		var wg sync.WaitGroup
		var tandem, user int
		wg.Add(2)
		go func() {
			defer wg.Done()
			tandem = patch(fmt.Sprintf(`{"name": "tandem %d", "if_updatedAt": %d}`, i, stamp))
		}()
		go func() { defer wg.Done(); user = patch(fmt.Sprintf(`{"name": "user %d", "updatedAt": %d}`, i, stamp+1)) }()
		wg.Wait()
		var got map[string]any
		if _, err := app.do(ctx, "GET", "/accounts/"+id, nil, &got); err != nil {
			t.Fatal(err)
		}
		if tandem == 200 && user == 200 && got["name"] != fmt.Sprintf("user %d", i) {
			t.Fatalf("round %d: both updates taken, and the record holds %v: the conditional one overwrote the user's", i, got["name"])
		}
		if user != 200 {
			t.Fatalf("round %d: the user's update answered %d", i, user)
		}
		if _, err := app.do(ctx, "PATCH", "/accounts/"+id, map[string]any{"updatedAt": stamp + 2}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// newShop starts the shop's json-server with one account, rec, and
// returns an app on it, the account's id, and a PATCH of it with a raw
// JSON body that answers the status and the record. It may be called
// from several goroutines.
func newShop(t *testing.T, rec map[string]any) (*jsonApp, string, func(body string) (int, map[string]any)) {
	t.Helper()
	js, err := startJSONServer(context.Background(), testenv.JSONServer(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(js.stop)
	app := newJSONApp("shop", js.url)
	var made map[string]any
	if _, err := app.do(context.Background(), "POST", "/accounts", rec, &made); err != nil {
		t.Fatal(err)
	}
	id := text(made["id"])
	patch := func(body string) (int, map[string]any) {
		req, _ := http.NewRequest("PATCH", js.url+"/accounts/"+id, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	return app, id, patch
}
