package connectortest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/record"
)

// Canonical holds one value of each kind the suite's items table stores,
// as tandem's records carry them. A record copied between any two
// connectors keeps these values.
var Canonical = record.Fields{
	"name":   "héllo, wörld ✓ 'quoted'",
	"qty":    int64(-42),
	"big":    int64(1<<40 + 1),
	"price":  1.25,
	"active": true,
	"at":     "2024-05-06T07:08:09.123456Z",
	"note":   nil,
}

func testRoundTrip(t *testing.T, e *env) {
	k := e.apply(t, "item", create("g", Canonical))[0].Key
	if diff := cmp.Diff(Canonical, e.fetch(t, "item", k).Fields); diff != "" {
		t.Errorf("values written and read back (-written +read):\n%s", diff)
	}
	other := record.Fields{"name": "", "qty": int64(0), "big": int64(-1 << 62), "price": -0.1, "active": false,
		"at": "1999-12-31T23:59:59Z", "note": "x"}
	e.apply(t, "item", upsert(k, other))
	if diff := cmp.Diff(other, e.fetch(t, "item", k).Fields); diff != "" {
		t.Errorf("values written and read back (-written +read):\n%s", diff)
	}
	// The application's own values are read the same way.
	e.drain(t)
	e.exec(t, "UPDATE items SET price = 2.5, qty = 3 WHERE id = ?", k)
	got := e.drain(t)
	if len(got) != 1 || got[0].Fields["price"] != 2.5 || got[0].Fields["qty"] != int64(3) || got[0].Fields["active"] != false {
		t.Errorf("captured values %+v", got)
	}
}

func testValuesFromText(t *testing.T, e *env) {
	k := e.apply(t, "item", create("g", record.Fields{
		"name": int64(5), "qty": "7", "big": 3.0, "price": "2.5", "active": "false", "at": "2024-01-02T03:04:05+02:00",
	}))[0].Key
	want := record.Fields{"name": "5", "qty": int64(7), "big": int64(3), "price": 2.5, "active": false,
		"at": "2024-01-02T01:04:05Z", "note": nil}
	if diff := cmp.Diff(want, e.fetch(t, "item", k).Fields); diff != "" {
		t.Errorf("values converted for their columns (-want +got):\n%s", diff)
	}
}
