package connector

import "errors"

// Gone marks a per-record failure of a write whose record is no longer
// in the system: its users deleted it (an update answered 404, a row
// that is not there). Delivery decides what that means by the route:
// the system's delete is taken as captured, or the record is made there
// again.
type Gone struct{ Err error }

func (g *Gone) Error() string { return g.Err.Error() }

func (g *Gone) Unwrap() error { return g.Err }

// IsGone reports whether err is marked Gone.
func IsGone(err error) bool {
	var g *Gone
	return errors.As(err, &g)
}
