package mapping

import (
	"errors"
	"math"
	"testing"

	"github.com/tandemhub/tandem/internal/record"
)

// FuzzToCanonical: whatever a system's row holds, its in expressions and
// value maps give canonical fields or an error naming a field, never a
// panic; and what ToLocal writes of those fields maps again.
func FuzzToCanonical(f *testing.F) {
	f.Add("X1", "A", 1999.0, "imp", "o1", int64(0), true)
	f.Add("", "I", math.Copysign(0, -1), "", "", int64(-1), false)
	f.Add("\xc3\x28", "Z", 1e308, "a\x00b", "o", int64(1)<<62, true)
	m := func(t *testing.T) *Map { return testMap(t) }
	f.Fuzz(func(t *testing.T, code, state string, cents float64, origin, owner string, n int64, asInt bool) {
		mp := m(t)
		local := record.Fields{"code": code, "state": state, "price_cents": cents, "origin": origin, "owner_id": owner, "note": n}
		if asInt {
			local["price_cents"] = n
		}
		canon, err := mp.ToCanonical(local)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("ToCanonical(%v): %v, not an error naming a field", local, err)
			}
			return
		}
		if _, err := mp.ToLocal(canon); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("ToLocal(%v): %v, not an error naming a field", canon, err)
			}
		}
	})
}
