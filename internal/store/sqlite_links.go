package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

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
	t.m.gone[linkKey{entity, system, key}] = &tombstone{gid: gid, at: nanos(at)}
	_, err := t.exec(`INSERT INTO gone(entity, system, key, gid, at) VALUES(?,?,?,?,?)
		ON CONFLICT(entity, system, key) DO UPDATE SET gid=excluded.gid, at=excluded.at`, entity, system, key, gid, nanos(at))
	return err
}

// Bury implements Tx.
func (t *sqlTx) Bury(entity, system, key, gid string, at time.Time) error {
	if !t.write {
		return errReadOnly
	}
	t.m.gone[linkKey{entity, system, key}] = &tombstone{gid: gid, at: nanos(at)}
	_, err := t.exec(`INSERT INTO gone(entity, system, key, gid, at) VALUES(?,?,?,?,?)
		ON CONFLICT(entity, system, key) DO UPDATE SET gid=excluded.gid, at=excluded.at`, entity, system, key, gid, nanos(at))
	return err
}

// Tombstone implements Tx.
func (t *sqlTx) Tombstone(entity, system, key string) (string, time.Time, bool, error) {
	if tb, ok := t.m.gone[linkKey{entity, system, key}]; ok {
		if tb == nil {
			return "", time.Time{}, false, nil
		}
		return tb.gid, fromNanos(tb.at), true, nil
	}
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
