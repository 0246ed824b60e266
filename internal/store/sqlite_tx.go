package store

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"time"

	json "github.com/goccy/go-json"

	"github.com/tandemhub/tandem/internal/record"
)

func encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

func decodeFields(b []byte) (record.Fields, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var f record.Fields
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode stored fields: %w", err)
	}
	return record.NormalizeFields(f), nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func one[T any](row *sql.Row, err error, dst *T) (bool, error) {
	if err != nil {
		return false, err
	}
	if err := row.Scan(dst); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func (t *sqlTx) GID(entity, system, key string) (string, bool, error) {
	if gid, ok := t.m.links[linkKey{entity, system, key}]; ok {
		return gid, gid != "", nil
	}
	var gid string
	row, err := t.queryRow(`SELECT gid FROM links WHERE entity=? AND system=? AND key=?`, entity, system, key)
	ok, err := one(row, err, &gid)
	if ok && t.m.superseded(entity, system, key, gid) {
		return "", false, err
	}
	return gid, ok, err
}

func (t *sqlTx) Key(entity, gid, system string) (string, bool, error) {
	if key, ok := t.m.rev[revKey{entity, gid, system}]; ok {
		return key, key != "", nil
	}
	if t.m.complete[goldKey{entity, gid}] {
		return "", false, nil
	}
	var key string
	row, err := t.queryRow(`SELECT key FROM links WHERE entity=? AND gid=? AND system=?`, entity, gid, system)
	ok, err := one(row, err, &key)
	if ok && t.m.superseded(entity, system, key, gid) {
		return "", false, err
	}
	return key, ok, err
}

func (t *sqlTx) Links(entity, gid string) (map[string]string, error) {
	if err := t.flushLinks(); err != nil {
		return nil, err
	}
	rows, err := t.query(`SELECT system, key FROM links WHERE entity=? AND gid=?`, entity, gid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var s, k string
		if err := rows.Scan(&s, &k); err != nil {
			return nil, err
		}
		out[s] = k
	}
	return out, rows.Err()
}

// LinkedKeys implements Tx.
func (t *sqlTx) LinkedKeys(entity, system string) ([]string, error) {
	if err := t.flushLinks(); err != nil {
		return nil, err
	}
	rows, err := t.query(`SELECT key FROM links WHERE entity=? AND system=?`, entity, system)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// PutLinkAt implements Links.
func (t *sqlTx) PutLinkAt(entity, system, key, gid string, at time.Time) error {
	return t.bufferLink(entity, system, key, gid, true, at)
}

// NewLinkAt implements Links: PutLinkAt for a gid made in this
// transaction, which has no stale key to drop.
func (t *sqlTx) NewLinkAt(entity, system, key, gid string, at time.Time) error {
	t.m.complete[goldKey{entity, gid}] = true
	return t.bufferLink(entity, system, key, gid, false, at)
}

// LinkedAt implements Tx.
func (t *sqlTx) LinkedAt(entity, system, key string) (time.Time, bool, error) {
	if err := t.flushLinks(); err != nil {
		return time.Time{}, false, err
	}
	var at int64
	row, err := t.queryRow(`SELECT at FROM links WHERE entity=? AND system=? AND key=?`, entity, system, key)
	ok, err := one(row, err, &at)
	return fromNanos(at), ok, err
}

// Unlink implements Tx.
func (t *sqlTx) Unlink(entity, system, key string, at time.Time) error {
	if !t.write {
		return errReadOnly
	}
	if err := t.flushLinks(); err != nil {
		return err
	}
	gid := t.m.links[linkKey{entity, system, key}]
	if _, known := t.m.links[linkKey{entity, system, key}]; !known {
		row, err := t.queryRow(`SELECT gid FROM links WHERE entity=? AND system=? AND key=?`, entity, system, key)
		if _, err := one(row, err, &gid); err != nil {
			return err
		}
	}
	if gid == "" {
		return nil
	}
	t.m.rev[revKey{entity, gid, system}] = ""
	t.m.links[linkKey{entity, system, key}] = ""
	if _, err := t.exec(`DELETE FROM links WHERE entity=? AND system=? AND key=?`, entity, system, key); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO gone(entity, system, key, gid, at) VALUES(?,?,?,?,?)
		ON CONFLICT(entity, system, key) DO UPDATE SET gid=excluded.gid, at=excluded.at`, entity, system, key, gid, nanos(at))
	return err
}

// Bury implements Tx.
func (t *sqlTx) Bury(entity, system, key, gid string, at time.Time) error {
	if !t.write {
		return errReadOnly
	}
	_, err := t.exec(`INSERT INTO gone(entity, system, key, gid, at) VALUES(?,?,?,?,?)
		ON CONFLICT(entity, system, key) DO UPDATE SET gid=excluded.gid, at=excluded.at`, entity, system, key, gid, nanos(at))
	return err
}

// Tombstone implements Tx.
func (t *sqlTx) Tombstone(entity, system, key string) (string, time.Time, bool, error) {
	row, err := t.queryRow(`SELECT gid, at FROM gone WHERE entity=? AND system=? AND key=?`, entity, system, key)
	if err != nil {
		return "", time.Time{}, false, err
	}
	var gid string
	var at int64
	if err := row.Scan(&gid, &at); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", time.Time{}, false, nil
		}
		return "", time.Time{}, false, err
	}
	return gid, fromNanos(at), true, nil
}

func (t *sqlTx) bufferLink(entity, system, key, gid string, replace bool, at time.Time) error {
	if !t.write {
		return errReadOnly
	}
	if l, ok := t.m.newAt[linkKey{entity, system, key}]; ok && t.m.newLinks[l].gid != gid && t.m.newLinks[l].replace {
		// The key is given to another record before its link to the
		// first was written: write that first, so the first record's
		// other keys are dropped as asked.
		if err := t.flushLinks(); err != nil {
			return err
		}
	}
	if old := t.m.rev[revKey{entity, gid, system}]; replace && old != "" && old != key {
		if i, ok := t.m.newAt[linkKey{entity, system, old}]; ok && t.m.newLinks[i].gid == gid {
			// The record's unwritten link under another key is stale
			// already, but writing it takes that key from the record it
			// named before: write it, for this link to drop it.
			if err := t.flushLinks(); err != nil {
				return err
			}
		}
	}
	t.m.noteLink(entity, system, key, gid)
	k := linkKey{entity, system, key}
	if i, ok := t.m.newAt[k]; ok {
		l := &t.m.newLinks[i]
		l.gid, l.replace, l.at = gid, l.replace || replace, nanos(at)
		return nil
	}
	t.m.newAt[k] = len(t.m.newLinks)
	t.m.newLinks = append(t.m.newLinks, newLink{entity: entity, system: system, key: key, gid: gid, replace: replace, at: nanos(at)})
	return nil
}

func (t *sqlTx) flushLinks() error {
	ls := t.m.newLinks
	t.m.newLinks = nil
	clear(t.m.newAt)
	for len(ls) > 0 {
		n := min(len(ls), chunk)
		args := make([]any, 0, n*5)
		var stale []any
		for _, l := range ls[:n] {
			args = append(args, l.entity, l.system, l.key, l.gid, l.at)
			if l.replace {
				stale = append(stale, l.entity, l.system, l.gid, l.key)
			}
		}
		if len(stale) > 0 {
			_, err := t.exec(`DELETE FROM links WHERE (entity, system, key) IN (SELECT l.entity, l.system, l.key FROM links l
				JOIN (VALUES `+rowsOf(len(stale)/4, "(?,?,?,?)")+`) AS v
				ON l.entity=v.column1 AND l.system=v.column2 AND l.gid=v.column3 AND l.key<>v.column4)`, stale...)
			if err != nil {
				return fmt.Errorf("drop stale links: %w", err)
			}
		}
		ls = ls[n:]
		_, err := t.exec(`INSERT INTO links(entity, system, key, gid, at) VALUES `+rowsOf(n, "(?,?,?,?,?)")+`
			ON CONFLICT(entity, system, key) DO UPDATE SET gid=excluded.gid, at=excluded.at`, args...)
		if err != nil {
			return fmt.Errorf("put links: %w", err)
		}
	}
	return nil
}

func (t *sqlTx) Alias(entity, old string) (string, bool, error) {
	var gid string
	row, err := t.queryRow(`SELECT gid FROM aliases WHERE entity=? AND old=?`, entity, old)
	ok, err := one(row, err, &gid)
	return gid, ok, err
}

func (t *sqlTx) PutAlias(entity, old, gid string) error {
	if !t.write {
		return errReadOnly
	}
	_, err := t.exec(`INSERT INTO aliases(entity, old, gid) VALUES(?,?,?)
		ON CONFLICT(entity, old) DO UPDATE SET gid=excluded.gid`, entity, old, gid)
	return err
}

func (t *sqlTx) Natural(entity, value string) (string, bool, error) {
	var gid string
	row, err := t.queryRow(`SELECT gid FROM natural WHERE entity=? AND value=?`, entity, value)
	ok, err := one(row, err, &gid)
	return gid, ok, err
}

func (t *sqlTx) PutNatural(entity, value, gid string) error {
	_, err := t.exec(`INSERT INTO natural(entity, value, gid) VALUES(?,?,?)
		ON CONFLICT(entity, value) DO UPDATE SET gid=excluded.gid`, entity, value, gid)
	return err
}

func (t *sqlTx) DeleteNatural(entity, value string) error {
	_, err := t.exec(`DELETE FROM natural WHERE entity=? AND value=?`, entity, value)
	return err
}

func (t *sqlTx) Golden(entity, gid string) (*Golden, error) {
	if g, ok := t.m.gold[goldKey{entity, gid}]; ok {
		if g == nil {
			return nil, nil
		}
		// A copy, so that a caller's edits reach the store only through PutGolden.
		c := *g
		if g.Sources != nil {
			c.Sources = make(map[string]string, len(g.Sources))
			for k, v := range g.Sources {
				c.Sources[k] = v
			}
		}
		return &c, nil
	}
	if c, ok := t.s.gold.get(goldKey{entity, gid}); ok && t.write {
		t.m.gold[goldKey{entity, gid}] = c
		return t.Golden(entity, gid)
	}
	row, err := t.queryRow(`SELECT `+goldenCols+` FROM golden WHERE entity=? AND gid=?`, entity, gid)
	if err != nil {
		return nil, err
	}
	g, err := scanGolden(row, entity)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read golden %s %s: %w", entity, gid, err)
	}
	return g, nil
}

func (t *sqlTx) GoldenPage(entity, after string, limit int) ([]Golden, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	rows, err := t.query(`SELECT `+goldenCols+` FROM golden
		WHERE entity=? AND gid>? ORDER BY gid LIMIT ?`, entity, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Golden
	for rows.Next() {
		g, err := scanGolden(rows, entity)
		if err != nil {
			return nil, err
		}
		out = append(out, *g)
	}
	return out, rows.Err()
}

// goldenCols are the columns scanGolden reads, in its order.
const goldenCols = `gid, fields, sources, deleted, ver, updated, at, flips`

// scanGolden reads a row of goldenCols.
func scanGolden(row interface{ Scan(...any) error }, entity string) (*Golden, error) {
	g := &Golden{Entity: entity}
	var fields, sources []byte
	var updated, at int64
	if err := row.Scan(&g.GID, &fields, &sources, &g.Deleted, &g.Ver, &updated, &at, &g.Flips); err != nil {
		return nil, err
	}
	g.Updated, g.At = fromNanos(updated), fromNanos(at)
	var err error
	if g.Fields, err = decodeFields(fields); err != nil {
		return nil, err
	}
	if len(sources) > 0 {
		if err := json.Unmarshal(sources, &g.Sources); err != nil {
			return nil, fmt.Errorf("decode golden sources: %w", err)
		}
	}
	return g, nil
}

var errReadOnly = errors.New("store: write in a read-only transaction")

func (t *sqlTx) PutGolden(g *Golden) error {
	if !t.write {
		return errReadOnly
	}
	k := goldKey{g.Entity, g.GID}
	c := *g
	t.m.gold[k] = &c
	if !t.m.isDirt[k] {
		t.m.isDirt[k] = true
		t.m.dirty = append(t.m.dirty, k)
	}
	return nil
}

func (t *sqlTx) Append(c *Change) error {
	if !t.write {
		return errReadOnly
	}
	if t.m.nextSeq == 0 {
		row, err := t.queryRow(`SELECT COALESCE(MAX(seq), 0) FROM changes`)
		if err != nil {
			return err
		}
		if err := row.Scan(&t.m.nextSeq); err != nil {
			return fmt.Errorf("append change: %w", err)
		}
	}
	t.m.nextSeq++
	c.Seq = t.m.nextSeq
	if c.Logged.IsZero() {
		c.Logged = time.Now()
	}
	cp := *c
	t.m.changes = append(t.m.changes, &cp)
	return nil
}

func (t *sqlTx) SetState(seq int64, s State, note string) error {
	for _, c := range t.m.changes {
		if c.Seq == seq {
			c.State, c.Note = s, note
			return nil
		}
	}
	_, err := t.exec(`UPDATE changes SET state=?, note=? WHERE seq=?`, s, note, seq)
	return err
}

const changeCols = `seq, system, entity, key, op, fields, gid, version, at, state, note, logged`

func scanChanges(rows *sql.Rows, err error) ([]Change, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var f []byte
		var at, logged int64
		if err := rows.Scan(&c.Seq, &c.System, &c.Entity, &c.Key, &c.Op, &f, &c.GID, &c.Version, &at, &c.State, &c.Note, &logged); err != nil {
			return nil, err
		}
		c.At, c.Logged = fromNanos(at), fromNanos(logged)
		if c.Fields, err = decodeFields(f); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (t *sqlTx) HeldChanges(limit int) ([]Change, error) {
	if err := t.flushChanges(); err != nil {
		return nil, err
	}
	return scanChanges(t.query(`SELECT `+changeCols+` FROM changes WHERE state=1 ORDER BY seq LIMIT ?`, limit))
}

func (t *sqlTx) Holds() ([]Holds, error) {
	if err := t.flushChanges(); err != nil {
		return nil, err
	}
	rows, err := t.query(`SELECT system, entity, COUNT(*), MIN(logged) FROM changes WHERE state=1
		GROUP BY system, entity ORDER BY system, entity`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Holds
	for rows.Next() {
		var h Holds
		var oldest int64
		if err := rows.Scan(&h.System, &h.Entity, &h.N, &oldest); err != nil {
			return nil, err
		}
		h.Oldest = fromNanos(oldest)
		out = append(out, h)
	}
	return out, rows.Err()
}

func (t *sqlTx) History(entity, gid string) ([]Change, error) {
	if err := t.flushChanges(); err != nil {
		return nil, err
	}
	return scanChanges(t.query(`SELECT `+changeCols+` FROM changes WHERE entity=? AND gid=? ORDER BY seq`, entity, gid))
}
