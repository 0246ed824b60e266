package store

import (
	"database/sql"
	"fmt"
	"strings"
)

// A transaction of the SQLite store does its per-record work in memory
// where it can: Preload reads the links and golden records of a whole
// batch in a few statements, and golden records and change-log entries
// are written behind, in multi-row statements at commit. Reads inside
// the transaction see its own writes. Per-statement cost dominates the
// embedded store, so this is where tandem's throughput comes from.

type linkKey struct{ entity, system, key string }
type revKey struct{ entity, gid, system string }
type goldKey struct{ entity, gid string }

// memo is the per-transaction state behind the store's Tx.
type memo struct {
	// links maps a system's key to its gid; "" means known to be unlinked.
	links map[linkKey]string
	// rev maps a gid to a system's key; "" means known to be unlinked.
	rev map[revKey]string
	// complete marks gids whose every link is in rev, so that a
	// missing rev entry means "not linked".
	complete map[goldKey]bool
	// gold holds golden records read or written; nil means known absent.
	gold map[goldKey]*Golden
	// dirty lists golden records to write at flush, in first-write order.
	dirty  []goldKey
	isDirt map[goldKey]bool
	// changes are appended change-log entries not yet written.
	changes []*Change
	nextSeq int64
	// enq and done are outbound writes not yet made; enqAt indexes enq.
	enq   []enqueued
	enqAt map[revKey]int
	done  []Outbound
	// touch holds Touch calls, by record: the newest version wins.
	touch   []enqueued
	touchAt map[revKey]int
	// newLinks are links of gids made in this transaction (entity,
	// system, key, gid), not yet written; newAt indexes them.
	newLinks []newLink
	newAt    map[linkKey]int
	// gone holds tombstones read by Preload or written since: a key
	// absent here is unknown; a nil entry means known to have none.
	gone map[linkKey]*tombstone
	// published are the golden records written, for the cache once committed.
	published []*packed
	// gen is the generation this transaction gives the deliveries it
	// queues or renews; 0 until the first needs it.
	gen int64
}

// tombstone is a row of the gone table.
type tombstone struct {
	gid string
	at  int64
}

type newLink struct {
	entity, system, key, gid string
	at                       int64
	replace                  bool // drop other keys of gid in system
}

type enqueued struct {
	system, entity, gid string
	ver, at             int64
}

// memoSize is the number of records a memo's maps are sized for: a
// capture or delivery batch, which is where they are used.
const memoSize = 1024

func newMemo(write bool) *memo {
	m := &memo{links: make(map[linkKey]string, memoSize), rev: make(map[revKey]string, memoSize),
		complete: make(map[goldKey]bool, memoSize), gold: make(map[goldKey]*Golden, memoSize), gone: map[linkKey]*tombstone{}}
	if write { // only writes buffer
		m.isDirt = make(map[goldKey]bool, memoSize)
		m.enqAt = make(map[revKey]int, memoSize)
		m.touchAt = make(map[revKey]int, memoSize)
		m.newAt = make(map[linkKey]int, memoSize)
	} else {
		m.isDirt, m.enqAt, m.touchAt, m.newAt = map[goldKey]bool{}, map[revKey]int{}, map[revKey]int{}, map[linkKey]int{}
	}
	return m
}

// chunk is the most rows one multi-row statement carries.
const chunk = 100

// Preload implements Tx.
func (t *sqlTx) Preload(entity, system string, keys []string) error {
	keys = uniqueMissing(keys, func(k string) bool {
		_, ok := t.m.links[linkKey{entity, system, k}]
		return ok
	})
	var gids []string
	for len(keys) > 0 {
		n := min(len(keys), chunk)
		part := keys[:n]
		keys = keys[n:]
		args := make([]any, 0, n+2)
		args = append(args, entity, system)
		for _, k := range part {
			args = append(args, k)
			t.m.links[linkKey{entity, system, k}] = ""
		}
		err := t.each(`SELECT key, gid FROM links WHERE entity=? AND system=? AND key IN (`+marks(n)+`)`, args, func(rows *sql.Rows) error {
			var k, g string
			if err := rows.Scan(&k, &g); err != nil {
				return err
			}
			if !t.m.regiven(entity, system, k, g) { // else it stays known unlinked
				t.m.links[linkKey{entity, system, k}] = g
				gids = append(gids, g)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("preload links: %w", err)
		}
		if err := t.preloadGone(entity, system, part, args); err != nil {
			return err
		}
	}
	return t.PreloadGIDs(entity, gids)
}

// preloadGone reads the tombstones of keys (args are entity, system and
// the keys), those the transaction has not read or written yet.
func (t *sqlTx) preloadGone(entity, system string, keys []string, args []any) error {
	for _, k := range keys {
		if _, ok := t.m.gone[linkKey{entity, system, k}]; !ok {
			t.m.gone[linkKey{entity, system, k}] = nil
		}
	}
	err := t.each(`SELECT key, gid, at FROM gone WHERE entity=? AND system=? AND key IN (`+marks(len(keys))+`)`, args, func(rows *sql.Rows) error {
		var k string
		var tb tombstone
		if err := rows.Scan(&k, &tb.gid, &tb.at); err != nil {
			return err
		}
		if t.m.gone[linkKey{entity, system, k}] == nil {
			t.m.gone[linkKey{entity, system, k}] = &tb
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("preload tombstones: %w", err)
	}
	return nil
}

// PreloadGIDs implements Tx.
func (t *sqlTx) PreloadGIDs(entity string, gids []string) error {
	gids = uniqueMissing(gids, func(g string) bool { return t.m.complete[goldKey{entity, g}] })
	for len(gids) > 0 {
		n := min(len(gids), chunk)
		part := gids[:n]
		gids = gids[n:]
		args := make([]any, 0, n+1)
		args = append(args, entity)
		for _, g := range part {
			args = append(args, g)
		}
		err := t.each(`SELECT system, key, gid FROM links WHERE entity=? AND gid IN (`+marks(n)+`)`, args, func(rows *sql.Rows) error {
			var s, k, g string
			if err := rows.Scan(&s, &k, &g); err != nil {
				return err
			}
			// What this transaction wrote is newer than the table: a
			// key it gave another record, or took away, is no key of g.
			if l, ok := t.m.links[linkKey{entity, s, k}]; ok && l != g {
				return nil
			}
			t.m.links[linkKey{entity, s, k}] = g
			if _, ok := t.m.rev[revKey{entity, g, s}]; !ok {
				t.m.rev[revKey{entity, g, s}] = k
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("preload links: %w", err)
		}
		var load []any
		load = append(load, entity)
		for _, g := range part {
			t.m.complete[goldKey{entity, g}] = true
			k := goldKey{entity, g}
			if _, ok := t.m.gold[k]; ok {
				continue
			}
			if p, ok := t.s.gold.get(k); ok && t.write {
				g, err := p.golden()
				if err != nil {
					return fmt.Errorf("read golden %s %s: %w", entity, p.gid, err)
				}
				t.m.gold[k] = g
				continue
			}
			t.m.gold[k] = nil
			load = append(load, g)
		}
		if len(load) == 1 {
			continue
		}
		err = t.each(`SELECT `+goldenCols+` FROM golden WHERE entity=? AND gid IN (`+marks(len(load)-1)+`)`, load, func(rows *sql.Rows) error {
			g, err := scanGolden(rows, entity)
			if err == nil {
				t.m.gold[goldKey{entity, g.GID}] = g
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("preload golden records: %w", err)
		}
	}
	return nil
}

// each runs the query q and calls scan on each row. The rows are
// closed, and a read cut short is an error, never fewer rows.
func (t *sqlTx) each(q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := t.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// uniqueMissing returns the distinct values of vs for which known is false.
func uniqueMissing(vs []string, known func(string) bool) []string {
	seen := make(map[string]bool, len(vs))
	out := vs[:0:0]
	for _, v := range vs {
		if seen[v] || known(v) {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}

func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// superseded reports whether the stored link of system's key to gid is
// stale already: this transaction gave gid another key in system, or the
// key to another record, and writes links only at flush.
func (m *memo) superseded(entity, system, key, gid string) bool {
	if m.regiven(entity, system, key, gid) {
		return true
	}
	g, ok := m.links[linkKey{entity, system, key}]
	return ok && g != gid
}

// regiven reports whether this transaction gave gid another key in
// system than key (or took its key away).
func (m *memo) regiven(entity, system, key, gid string) bool {
	k, ok := m.rev[revKey{entity, gid, system}]
	return ok && k != key
}

// noteLink records in the memo that system's key of entity now links to gid.
func (m *memo) noteLink(entity, system, key, gid string) {
	if old := m.links[linkKey{entity, system, key}]; old != "" && old != gid {
		m.rev[revKey{entity, old, system}] = ""
	}
	if old := m.rev[revKey{entity, gid, system}]; old != "" && old != key {
		m.links[linkKey{entity, system, old}] = ""
	}
	m.links[linkKey{entity, system, key}] = gid
	m.rev[revKey{entity, gid, system}] = key
}

// flush writes what the transaction holds back: change-log entries and
// golden records, in multi-row statements.
func (t *sqlTx) flush() error {
	if err := t.flushChanges(); err != nil {
		return err
	}
	if err := t.flushLinks(); err != nil {
		return err
	}
	if err := t.flushOutbound(); err != nil {
		return err
	}
	return t.flushGolden()
}

func (t *sqlTx) flushChanges() error {
	cs := t.m.changes
	t.m.changes = nil
	for len(cs) > 0 {
		n := min(len(cs), chunk)
		args := make([]any, 0, n*12)
		for _, c := range cs[:n] {
			f, err := encode(c.Fields)
			if err != nil {
				return fmt.Errorf("encode change: %w", err)
			}
			args = append(args, c.Seq, c.System, c.Entity, c.Key, c.Op, f, c.GID, c.Version, nanos(c.At), c.State, c.Note, nanos(c.Logged))
		}
		q := `INSERT INTO changes(seq, system, entity, key, op, fields, gid, version, at, state, note, logged) VALUES ` +
			rowsOf(n, "(?,?,?,?,?,?,?,?,?,?,?,?)")
		if _, err := t.exec(q, args...); err != nil {
			return fmt.Errorf("append changes: %w", err)
		}
		cs = cs[n:]
	}
	return nil
}

func (t *sqlTx) flushGolden() error {
	keys := t.m.dirty
	t.m.dirty = nil
	clear(t.m.isDirt)
	for len(keys) > 0 {
		n := min(len(keys), chunk)
		args := make([]any, 0, n*9)
		for _, k := range keys[:n] {
			g := t.m.gold[k]
			f, err := encode(g.Fields)
			if err != nil {
				return fmt.Errorf("encode golden %s %s: %w", g.Entity, g.GID, err)
			}
			s, err := encode(g.Sources)
			if err != nil {
				return err
			}
			t.m.published = append(t.m.published, &packed{entity: g.Entity, gid: g.GID, fields: f, sources: s, deleted: g.Deleted,
				ver: g.Ver, updated: nanos(g.Updated), at: nanos(g.At), flips: g.Flips, flipPeer: g.FlipPeer})
			args = append(args, g.Entity, g.GID, f, s, g.Deleted, g.Ver, nanos(g.Updated), nanos(g.At), g.Flips, g.FlipPeer)
		}
		q := `INSERT INTO golden(entity, gid, fields, sources, deleted, ver, updated, at, flips, flip_peer) VALUES ` +
			rowsOf(n, "(?,?,?,?,?,?,?,?,?,?)") + `
			ON CONFLICT(entity, gid) DO UPDATE SET fields=excluded.fields, sources=excluded.sources,
			deleted=excluded.deleted, ver=excluded.ver, updated=excluded.updated, at=excluded.at, flips=excluded.flips, flip_peer=excluded.flip_peer`
		if _, err := t.exec(q, args...); err != nil {
			return fmt.Errorf("write golden records: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}

func rowsOf(n int, row string) string {
	return strings.TrimSuffix(strings.Repeat(row+",", n), ",")
}
