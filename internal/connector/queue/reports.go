package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/tandemhub/tandem/internal/broker"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/contract"
)

// reportToken is what AckReports releases: rejected change messages and
// result messages.
type reportToken struct {
	rejected, results []*entry
}

// Reports implements connector.Reporter: first the change messages the
// connector rejected, then the system's results, oldest first.
func (s *System) Reports(ctx context.Context, max int) (connector.ReportBatch, error) {
	var out []connector.Report
	var tok reportToken

	s.changes.mu.Lock()
	for _, e := range s.rejected {
		if len(out) == max {
			break
		}
		r := e.val.(*rejection)
		out = append(out, connector.Report{Kind: connector.Rejected, Entity: r.entity, Key: r.key,
			Reason: r.reason, Field: r.field, Fields: r.fields})
		tok.rejected = append(tok.rejected, e)
	}
	s.changes.mu.Unlock()

	in := s.reports
	in.mu.Lock()
	defer in.mu.Unlock()
	wait := s.wait
	if len(out) > 0 {
		wait = 0
	}
	if err := in.fill(ctx, s.b, max-len(out), wait, s.decodeResult, nil); err != nil && len(in.pending) == 0 && len(out) == 0 {
		if ctx.Err() != nil {
			return connector.ReportBatch{}, ctx.Err()
		}
		return connector.ReportBatch{}, fmt.Errorf("read reports of queue system %q from %s: %w", s.name, in.queue, err)
	}
	for _, e := range in.pending {
		if len(out) == max {
			break
		}
		out = append(out, e.val.(connector.Report))
		tok.results = append(tok.results, e)
	}
	return connector.ReportBatch{Reports: out, Ack: tok}, nil
}

// AckReports implements connector.Reporter.
func (s *System) AckReports(_ context.Context, b connector.ReportBatch) error {
	tok, ok := b.Ack.(reportToken)
	if !ok {
		if b.Ack == nil {
			return nil
		}
		return fmt.Errorf("ack reports to queue system %q: not a token of this system (%T)", s.name, b.Ack)
	}
	if len(tok.rejected) > 0 {
		in := s.changes
		in.mu.Lock()
		gone := map[*entry]bool{}
		for _, e := range tok.rejected {
			gone[e] = true
		}
		kept := s.rejected[:0]
		for _, e := range s.rejected {
			if !gone[e] {
				kept = append(kept, e)
			}
		}
		clear(s.rejected[len(kept):])
		s.rejected = kept
		in.ack(in.done(tok.rejected))
		in.mu.Unlock()
	}
	if len(tok.results) > 0 {
		in := s.reports
		in.mu.Lock()
		in.ack(in.done(tok.results))
		in.mu.Unlock()
	}
	return nil
}

// decodeResult reads a message of the reports queue. One that cannot be
// used becomes a Rejected report.
func (s *System) decodeResult(d broker.Delivery) (string, any) {
	r, err := contract.DecodeResult(d.Body)
	if err != nil {
		var ce *contract.Error
		if errors.As(err, &ce) {
			rep := connector.Report{Kind: connector.Rejected, Key: ce.Key, GID: ce.GID, Field: ce.Field,
				Reason: "result " + ce.Error()}
			if t, ok := s.byName[ce.Entity]; ok {
				rep.Entity = t.Entity
			}
			return ce.ID, rep
		}
		return "", connector.Report{Kind: connector.Rejected, Reason: "result message: " + err.Error()}
	}
	t, ok := s.byName[r.Entity]
	switch {
	case r.System != s.name:
		return r.ID, connector.Report{Kind: connector.Rejected, Key: r.Key, GID: r.GID, Reason: fmt.Sprintf(
			"result %s names system %q, but queue %s belongs to system %q", r.ID, r.System, s.reports.queue, s.name)}
	case !ok:
		return r.ID, connector.Report{Kind: connector.Rejected, Key: r.Key, GID: r.GID, Reason: fmt.Sprintf(
			"result %s is about entity %q, which system %q does not map; mapped: %s", r.ID, r.Entity, s.name, s.names())}
	}
	rep := connector.Report{Entity: t.Entity, GID: r.GID, Key: r.Key, Op: r.Op, Reason: r.Reason, Field: r.Field}
	switch r.Outcome {
	case contract.Applied:
		rep.Kind = connector.Applied
	case contract.Created:
		rep.Kind = connector.Created
	case contract.Failed:
		rep.Kind = connector.Failed
	}
	return r.ID, rep
}
