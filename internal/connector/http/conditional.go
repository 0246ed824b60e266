package http

import (
	"fmt"
	"strings"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
)

// condition adds to an update's body the version it is for (see
// Condition), if the resource has a condition and the guard read
// the record: null when the record had none (it must have none still).
func (s *System) condition(r *resource, body any, l look) {
	c := r.cfg.Condition
	if c == nil || !l.read {
		return
	}
	v := l.cond
	m, ok := body.(map[string]any)
	if !ok {
		return
	}
	if r.cfg.Body != "" {
		if inner, ok := m[r.cfg.Body].(map[string]any); ok {
			m = inner
		}
	}
	rest.Set(m, c.Field, v)
}

// conflict reports whether an API refused a conditional update because
// the record changed since the version it named.
func conflict(ae *rest.APIError) bool {
	code := strings.ToLower(ae.Code)
	return ae.Status == 409 || ae.Status == 412 ||
		strings.Contains(code, "conflict") || strings.Contains(code, "precondition")
}

// changedMeanwhile is the error of an update its condition stopped: a
// user wrote the record after tandem's look. It is busy, written again
// once capture has their edit, which then wins or loses. When the
// request was sent again (resent), the change the condition saw may be
// its own first try: the write is unsure, and a read of what it wrote
// is still tandem's own (see expect).
func (s *System) changedMeanwhile(r *resource, key string, ae error, resent bool) error {
	if resent {
		s.log.Debug("a resent update found the record changed, maybe by its first try", "entity", r.Entity, "key", key)
		return &connector.Busy{Err: &rest.Unsure{Err: fmt.Errorf("%s %s in %s changed as tandem wrote it, maybe by tandem's first try of the write (%w); it is written again once capture has read it", r.Entity, key, s.name, ae)}}
	}
	s.log.Debug("a user wrote the record as tandem was writing it; not overwriting", "entity", r.Entity, "key", key)
	return &connector.Busy{Err: fmt.Errorf("%s %s in %s changed as tandem wrote it (%w); it is written once that edit is in", r.Entity, key, s.name, ae)}
}
