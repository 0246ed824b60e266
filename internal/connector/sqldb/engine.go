package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
)

// Options configure an Engine.
type Options struct {
	// System is the system's name, used in messages and Change.System.
	System string
	// DB is the open database; the Engine owns it from New on.
	DB      *sql.DB
	Dialect Dialect
	Tables  []connector.Table
	Log     *slog.Logger
	// Where says where the database is (host:port, file) for messages;
	// it must not contain secrets.
	Where string
}

// Engine is a system reached through a SQL database: it captures changes
// with triggers into an outbox table, reads snapshots, and applies writes
// in batches. It implements connector.Source, connector.Destination and
// connector.Installer; its methods are safe for concurrent use.
type Engine struct {
	system string
	db     *sql.DB
	d      Dialect
	log    *slog.Logger
	tables map[string]*table   // by entity
	byName map[string][]*table // by table name, as the outbox holds it
	order  []*table            // configuration order
	ready  atomic.Bool         // tandem's tables are known to exist
	// unmapped holds the names of unmapped tables whose outbox rows were
	// dropped, to warn once per table.
	unmapped sync.Map
	// betweenReads, if set, runs between capture's reads (see HookCaptureReads).
	betweenReads func()
}

// table is one configured table with the columns learned from the database.
type table struct {
	connector.Table
	quoted   string
	key      Column
	cols     []Column          // the configured columns, in order; the key only when a field maps it
	keyField bool              // a field maps the key column
	all      map[string]Column // every column of the table
	required []Column          // the required columns, key excluded
}

// New checks that the database answers and learns the columns of every
// table. It reports every problem at once; on error it closes o.DB.
func New(ctx context.Context, o Options) (*Engine, error) {
	e := &Engine{system: o.System, db: o.DB, d: o.Dialect, log: o.Log,
		tables: map[string]*table{}, byName: map[string][]*table{}}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := o.DB.PingContext(pctx); err != nil {
		_ = o.DB.Close()
		return nil, fmt.Errorf("%s system %q at %s is unreachable; check its dsn and that the server runs: %w",
			e.d.Name(), e.system, o.Where, err)
	}
	var errs []error
	for _, ct := range o.Tables {
		t, err := e.learn(ctx, ct)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if e.tables[t.Entity] != nil {
			errs = append(errs, fmt.Errorf("%s system %q: entity %q is mapped twice", e.d.Name(), e.system, t.Entity))
			continue
		}
		e.tables[t.Entity] = t
		e.byName[t.Name] = append(e.byName[t.Name], t)
		e.order = append(e.order, t)
	}
	if err := errors.Join(errs...); err != nil {
		_ = o.DB.Close()
		return nil, err
	}
	e.log.Debug("connected", "type", e.d.Name(), "at", o.Where, "tables", len(e.order))
	return e, nil
}

func (e *Engine) learn(ctx context.Context, ct connector.Table) (*table, error) {
	cols, err := e.d.Columns(ctx, e.db, ct.Name)
	if err != nil {
		return nil, fmt.Errorf("%s system %q, entity %q: read columns of table %q: %w", e.d.Name(), e.system, ct.Entity, ct.Name, err)
	}
	t := &table{Table: ct, quoted: e.d.Quote(ct.Name), all: map[string]Column{}}
	for _, c := range cols {
		t.all[c.Name] = c
		if c.Required && c.Name != ct.Key {
			t.required = append(t.required, c)
		}
	}
	var missing []string
	k, ok := t.all[ct.Key]
	if !ok {
		missing = append(missing, ct.Key)
	}
	t.key = k
	for _, name := range ct.Columns {
		c, ok := t.all[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		t.cols = append(t.cols, c)
		t.keyField = t.keyField || name == ct.Key
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s system %q, entity %q: table %q has no column %s; fix the mapping or the table",
			e.d.Name(), e.system, ct.Entity, ct.Name, strings.Join(quoteAll(missing), ", "))
	}
	return t, nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func (e *Engine) table(entity string) (*table, error) {
	t := e.tables[entity]
	if t == nil {
		return nil, &connector.Permanent{Err: fmt.Errorf("%s system %q has no mapping for entity %q", e.d.Name(), e.system, entity)}
	}
	return t, nil
}

// checkReady makes sure tandem's tables exist, so a system that was never
// set up fails with a message saying what to do.
func (e *Engine) checkReady(ctx context.Context) error {
	if e.ready.Load() {
		return nil
	}
	for _, name := range []string{e.d.Outbox(), e.d.IDs()} {
		if err := e.readable(ctx, name); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%s system %q is not set up for tandem (%w); run `tandem setup`", e.d.Name(), e.system, err)
		}
	}
	e.ready.Store(true)
	return nil
}

// readable fails unless the table name can be queried.
func (e *Engine) readable(ctx context.Context, name string) error {
	rows, err := e.db.QueryContext(ctx, "SELECT 1 FROM "+name+" WHERE 1 = 0")
	if err != nil {
		return err
	}
	defer rows.Close()
	return rows.Err()
}

// Close closes the database.
func (e *Engine) Close(ctx context.Context) error {
	return e.db.Close()
}
