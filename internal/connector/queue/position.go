package queue

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/tandemhub/tandem/internal/connector"
)

// A hub that keeps a source's position in its store, in the transaction
// that stores each batch, gets from a queue system the ids of the batch's
// messages. After a crash between that commit and the acknowledgement,
// the broker gives exactly those messages again; Resume makes them count
// as seen, so they are acknowledged and not stored twice.

const positionPrefix = "ids1:"

// Begin is the position of a system never read: nothing stored yet.
func (s *System) Begin(context.Context) (connector.Position, error) { return positionPrefix, nil }

// Resume takes the position stored with the last batch.
func (s *System) Resume(_ context.Context, pos connector.Position) error {
	rest, ok := strings.CutPrefix(string(pos), positionPrefix)
	if !ok {
		return fmt.Errorf("queue system %q: position %.20q is not one of this connector", s.name, pos)
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw)%8 != 0 {
		return fmt.Errorf("queue system %q: position is damaged", s.name)
	}
	in := s.changes
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stored = make(map[uint64]bool, len(raw)/8)
	for i := 0; i < len(raw); i += 8 {
		in.stored[binary.LittleEndian.Uint64(raw[i:])] = true
	}
	return nil
}

// Position is the position after batch b: the ids of its messages.
func (s *System) Position(b connector.Batch) connector.Position {
	es, _ := b.Ack.([]*entry)
	raw := make([]byte, 0, 8*len(es))
	for _, e := range es {
		raw = binary.LittleEndian.AppendUint64(raw, idHash(e.id))
	}
	return connector.Position(positionPrefix + base64.RawURLEncoding.EncodeToString(raw))
}

func idHash(id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return h.Sum64()
}
