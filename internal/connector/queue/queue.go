package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/broker"
	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// System is a system on a message queue, as a tandem source, destination
// and reporter.
type System struct {
	name string
	cfg  Settings // with defaults filled in
	b    broker.Broker
	log  *slog.Logger
	wait time.Duration // how long Changes and Reports wait for a first message

	byEntity map[string]connector.Table // tandem entity → table
	byName   map[string]connector.Table // the system's entity name → table
	fields   map[string]map[string]bool // tandem entity → field names the system may send

	changes *inbox
	reports *inbox

	// rejected holds change messages that could not be taken, until
	// Reports has handed them over and the hub has stored their dead
	// letters. Guarded by changes.mu.
	rejected []*entry
	// latest remembers the newest version stored of recent records, by
	// entity and key. Guarded by changes.mu.
	latest *memo[recordKey, int64]

	warned sync.Map // entity/field pairs already warned about
}

type recordKey struct{ entity, key string }

// Interface checks.
var (
	_ connector.Source      = (*System)(nil)
	_ connector.Destination = (*System)(nil)
	_ connector.Installer   = (*System)(nil)
	_ connector.Reporter    = (*System)(nil)
)

// New connects to the broker of system name (its queue: block) and declares its
// three queues. Each mapped table names the entity as the system writes
// it in messages; two entities may not share one.
func New(ctx context.Context, name string, sys *config.System, tables []connector.Table, log *slog.Logger) (*System, error) {
	q := SettingsOf(sys)
	if q == nil {
		return nil, fmt.Errorf("queue system %q: no queue settings", name)
	}
	cfg := q.Resolved(name)
	tc, err := sys.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("queue system %q: %w", name, err)
	}
	b, err := broker.Dial(ctx, broker.Options{Kind: cfg.Broker, URL: cfg.URL, Stream: cfg.Stream,
		Name: "tandem " + name, Log: log, TLS: tc})
	if err != nil {
		return nil, fmt.Errorf("queue system %q: %w", name, err)
	}
	s, err := open(name, cfg, b, tables, log, sys.Poll.D())
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	if err := s.Setup(ctx); err != nil {
		_ = b.Close()
		return nil, err
	}
	return s, nil
}

// open makes a System over a connected broker.
func open(name string, cfg Settings, b broker.Broker, tables []connector.Table, log *slog.Logger, poll time.Duration) (*System, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &System{name: name, cfg: cfg, b: b, log: log, wait: min(max(poll, 10*time.Millisecond), time.Second),
		byEntity: map[string]connector.Table{}, byName: map[string]connector.Table{}, fields: map[string]map[string]bool{},
		changes: newInbox(cfg.Outbound, consumerName(cfg.Outbound), cfg.Prefetch),
		reports: newInbox(cfg.Reports, consumerName(cfg.Reports), cfg.Prefetch),
		latest:  newMemo[recordKey, int64](seenSize)}
	for _, t := range tables {
		if other, dup := s.byName[t.Name]; dup {
			return nil, fmt.Errorf("queue system %q: entities %s and %s both map to %q; "+
				"messages name one entity each, so give each its own table", name, other.Entity, t.Entity, t.Name)
		}
		s.byName[t.Name], s.byEntity[t.Entity] = t, t
		set := map[string]bool{t.Key: true}
		for _, c := range t.Columns {
			set[c] = true
		}
		s.fields[t.Entity] = set
	}
	return s, nil
}

// consumerName is tandem's durable consumer of a queue.
func consumerName(queue string) string { return "tandem-" + queue }

// Setup declares the outbound, inbound and reports queues (idempotent).
func (s *System) Setup(ctx context.Context) error {
	if err := s.b.Declare(ctx, s.cfg.Outbound, s.cfg.Inbound, s.cfg.Reports); err != nil {
		return fmt.Errorf("queue system %q: declare its queues: %w", s.name, err)
	}
	return nil
}

// Snapshot implements connector.Source. A queue system cannot be read:
// there is nothing to copy, and tandem learns its records from the
// changes it sends.
func (s *System) Snapshot(context.Context, string, string, int) ([]record.Change, string, error) {
	return nil, "", nil
}

// Fetch implements connector.Source. A queue system cannot be read, so a
// capture dead letter cannot be re-read; it is retried by the system
// sending the record again. Fetch returns no changes (never deletes).
func (s *System) Fetch(_ context.Context, entity string, keys []string) ([]record.Change, error) {
	s.log.Info("a queue system cannot be read again; have it send the record anew to retry it",
		"entity", entity, "keys", strings.Join(keys, ","))
	return nil, nil
}

// Close stops consuming and disconnects from the broker.
func (s *System) Close(context.Context) error {
	return errors.Join(s.changes.close(), s.reports.close(), s.b.Close())
}

// tableOf is the table of a tandem entity.
func (s *System) tableOf(entity string) (connector.Table, error) {
	t, ok := s.byEntity[entity]
	if !ok {
		return t, fmt.Errorf("queue system %q has no mapping of entity %q", s.name, entity)
	}
	return t, nil
}

// names lists the entity names the system's messages may use.
func (s *System) names() string {
	out := make([]string, 0, len(s.byName))
	for n := range s.byName {
		out = append(out, n)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
