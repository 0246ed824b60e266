package mapping

import (
	"github.com/tandemhub/tandem/internal/record"
)

// Drift is a field whose value does not come back the same after being
// written to the system and captured again: out, then in.
type Drift struct {
	Field string
	// Sent is the canonical value written, Back what its capture gives,
	// Again what writing and capturing Back gives.
	Sent, Back, Again any
}

// Settles reports whether a second trip changes nothing more: the value
// is changed once (a loss of precision, say) but does not loop.
func (d Drift) Settles() bool { return record.Equal(d.Back, d.Again) }

// RoundTrip writes sample records to the system's columns and reads them
// back, as capture would, and returns the fields that come back changed.
// samples gives, per canonical field, values to try (its schema's type);
// each field is tried with each of its values while the others hold
// their first. Only fields computed by an in or out expression are
// judged: a plain column or a values map gives back what it was given.
func (m *Map) RoundTrip(samples map[string][]any) []Drift {
	base := record.Fields{}
	for name, vs := range samples {
		if len(vs) > 0 {
			base[name] = vs[0]
		}
	}
	var out []Drift
	for _, f := range m.fields {
		if f.readOnly || f.column == "" || (f.in == nil && f.out == nil) {
			continue
		}
		for _, v := range samples[f.name] {
			canon := record.Fields{}
			for k, x := range base {
				canon[k] = x
			}
			canon[f.name] = v
			back, ok := m.trip(canon)
			if !ok || record.Equal(back[f.name], v) {
				continue
			}
			again, ok := m.trip(back)
			if !ok {
				continue
			}
			out = append(out, Drift{Field: f.name, Sent: v, Back: back[f.name], Again: again[f.name]})
			break
		}
	}
	return out
}

// trip is what capture reads after canon is written; false when a sample
// does not suit an expression (it fails on it).
func (m *Map) trip(canon record.Fields) (record.Fields, bool) {
	local, err := m.ToLocal(canon)
	if err != nil {
		return nil, false
	}
	back, err := m.ToCanonical(local)
	if err != nil {
		return nil, false
	}
	return back, true
}
