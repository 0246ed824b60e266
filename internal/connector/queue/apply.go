package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/tandemhub/tandem/internal/broker"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/contract"
	"github.com/tandemhub/tandem/internal/record"
)

// Apply implements connector.Destination: it publishes one change
// message per write to the inbound queue and returns once the broker has
// them all. The system applies them later and reports back.
//
// A write without a key is a create. When the system makes its own keys
// the message carries only the global id and the result is keyless; the
// key arrives with the system's created report. Otherwise the message
// carries the global id as the key to create the record under, and that
// is the result.
//
// While the broker is unreachable Apply waits for it (until ctx ends)
// instead of failing, so that an outage pauses delivery without using up
// retries. A message published twice (the connection dropped before the
// broker confirmed) keeps its id, and the system drops the copy.
func (s *System) Apply(ctx context.Context, entity string, writes []record.Write) ([]record.Result, error) {
	t, err := s.tableOf(entity)
	if err != nil {
		return nil, err
	}
	res := make([]record.Result, len(writes))
	msgs := make([]broker.Message, 0, len(writes))
	now := time.Now()
	var buf []byte
	for i, w := range writes {
		m := contract.Change{ID: messageID(w.Ver), System: s.name, Entity: t.Name, Op: w.Op,
			Key: w.Key, GID: w.GID, At: now, Fields: w.Fields}
		if w.Op == record.Upsert && m.Key == "" && !t.KeyGenerated {
			m.Key = w.GID
		}
		start := len(buf)
		if buf, err = m.Append(buf); err != nil {
			var fe *contract.FieldError
			field := ""
			if errors.As(err, &fe) {
				field = fe.Field
			}
			res[i].Err = &connector.Permanent{Err: fmt.Errorf("%s for %s: %w", entity, s.name, err), Field: field}
			buf = buf[:start]
			continue
		}
		if n := len(buf) - start; n > contract.MaxSize {
			res[i].Err = &connector.Permanent{Err: fmt.Errorf("%s for %s: the message would be %d bytes; the most is %d",
				entity, s.name, n, contract.MaxSize)}
			buf = buf[:start]
			continue
		}
		msgs = append(msgs, broker.Message{ID: m.ID, Body: buf[start:len(buf):len(buf)]})
		res[i].Key = m.Key
	}
	if err := s.publish(ctx, s.cfg.Inbound, msgs); err != nil {
		return nil, fmt.Errorf("send %d %s changes to queue system %q: %w", len(msgs), entity, s.name, err)
	}
	return res, nil
}

// publish publishes msgs, waiting out broker outages until ctx ends.
func (s *System) publish(ctx context.Context, queue string, msgs []broker.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	for n := 0; ; n++ {
		if err := s.b.Wait(ctx); err != nil {
			return err
		}
		err := s.b.Publish(ctx, queue, msgs)
		if err == nil || !errors.Is(err, broker.ErrUnavailable) || ctx.Err() != nil {
			return err
		}
		if n == 0 {
			s.log.Warn("the broker is unreachable; delivery waits for it", "queue", queue, "err", err)
		}
		t := time.NewTimer(min(100*time.Millisecond<<min(n, 5), 3*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// messageID makes the id of a message carrying version ver of a golden
// record: a ULID, then ".v" and the version when known. An echo names
// it in its cause, and so says which version the system applied.
func messageID(ver int64) string {
	id := ulid.Make().String()
	if ver > 0 {
		id += ".v" + strconv.FormatInt(ver, 10)
	}
	return id
}

// causeVersion is the version a message id made by messageID carries;
// 0 for any other id.
func causeVersion(cause string) int64 {
	i := strings.LastIndex(cause, ".v")
	if i < 0 {
		return 0
	}
	v, err := strconv.ParseInt(cause[i+2:], 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}
