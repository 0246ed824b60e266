package deliver

import (
	"context"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// applySplit applies writes and, when the whole call fails, splits the
// batch in halves until the failing records stand alone, so that one
// poison record fails by itself and the rest goes through. Transient
// whole-call failures (the destination is down) are not split: every
// record gets the error and is retried later; nor is a busy one, which
// no record is to blame for.
func applySplit(ctx context.Context, dst connector.Destination, entity string, ws []record.Write, split bool) []record.Result {
	res, err := dst.Apply(ctx, entity, ws)
	if err == nil && len(res) != len(ws) {
		err = errMisaligned
	}
	if err == nil {
		return res
	}
	if len(ws) == 1 || (!split && !connector.IsPermanent(err)) || connector.IsBusy(err) || ctx.Err() != nil {
		out := make([]record.Result, len(ws))
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	mid := len(ws) / 2
	a := applySplit(ctx, dst, entity, ws[:mid], true)
	b := applySplit(ctx, dst, entity, ws[mid:], true)
	return append(a, b...)
}

type misaligned struct{}

func (misaligned) Error() string { return "destination returned results not aligned with the writes" }

var errMisaligned error = misaligned{}
