package http

import (
	"context"
	"fmt"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
)

// createFailed turns a failed create into its error, remembering that an
// unknown outcome must be looked up before the next try.
func (s *System) createFailed(r *resource, w record.Write, err error) error {
	if rest.IsUnsure(err) {
		s.markUnsure(w.GID)
		if r.cfg.Lookup == "" && r.cfg.Match == "" {
			return &connector.Permanent{Err: fmt.Errorf(
				"create %s with global id %s in %s: %w; it cannot be looked up, so it is not sent again "+
					"(set resources.%s.lookup to a field that holds tandem's id, then retry)", r.Entity, w.GID, s.name, err, r.Name)}
		}
		return fmt.Errorf("create %s with global id %s in %s: %w; it is looked up before the next try", r.Entity, w.GID, s.name, err)
	}
	return rest.RecordError(err)
}

func (s *System) markUnsure(gid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsure[gid] = true
}

// settle records that gid's record is key.
func (s *System) settle(entity, gid, key string) {
	s.mu.Lock()
	delete(s.unsure, gid)
	if len(s.created) > 100000 {
		clear(s.created)
	}
	s.created[[2]string{entity, key}] = made{gid: gid, at: time.Now()}
	s.mu.Unlock()
}

// made tells delivery, at once, that the system made gid's record under key.
func (s *System) made(entity, gid, key string) {
	s.settle(entity, gid, key)
	if s.announce != nil {
		s.announce(entity, gid, key)
	}
}

// madeAndGone returns a connector.Gone for a create in doubt that its
// lookup did not find, if the delete scan listed its record: an earlier
// try made it (its answer was lost, or the hub stopped before keeping
// it), and its users deleted it since. Made again, it would undo their
// delete.
func (s *System) madeAndGone(r *resource, w record.Write) error {
	sc := s.scans[r.Entity]
	if sc == nil {
		return nil
	}
	if was, ok := sc.Held(w.GID); ok {
		return &connector.Gone{Err: fmt.Errorf(
			"create %s %s in %s: an earlier try made it under %s, and it is gone from there", r.Entity, w.GID, s.name, was)}
	}
	return nil
}

// scanSaw tells the delete scan of r that tandem made gid's record under
// key: it carries gid in the lookup field, if r has one.
func (s *System) scanSaw(r *resource, gid, key string) {
	sc := s.scans[r.Entity]
	switch {
	case sc == nil:
	case r.cfg.Lookup != "":
		sc.Made(key, gid)
	default:
		sc.Saw(key)
	}
}

func (s *System) forget(entity, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.created, [2]string{entity, key})
}

// find looks up the record a create would make: by the lookup field
// holding the global id, or by the natural-key field.
func (s *System) find(ctx context.Context, r *resource, w record.Write) (string, error) {
	field, val := r.cfg.Lookup, any(w.GID)
	if field == "" {
		field = r.cfg.Match
		val = w.Fields[field]
		if val == nil || val == "" {
			return "", nil
		}
	}
	if field == "" {
		return "", nil
	}
	want := rest.Text(val)
	recs, _, err := s.list(ctx, r, r.path, map[string]string{field: want}, "")
	if err != nil {
		return "", fmt.Errorf("look up %s %s=%q in %s before creating it: %w", r.Entity, field, want, s.name, err)
	}
	// The system may ignore a filter it does not know: check each record.
	for _, rec := range recs {
		if rest.Text(rest.Get(rec, field)) == want && !(r.deleted != "" && rest.Truthy(rest.Get(rec, r.deleted))) {
			return rest.Text(rest.Get(rec, r.id)), nil
		}
	}
	return "", nil
}
