package store

import (
	"database/sql"
	"errors"
	"fmt"

	json "github.com/goccy/go-json"
)

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
	if p, ok := t.s.gold.get(goldKey{entity, gid}); ok && t.write {
		g, err := p.golden()
		if err != nil {
			return nil, fmt.Errorf("read golden %s %s: %w", entity, gid, err)
		}
		t.m.gold[goldKey{entity, gid}] = g
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

func (t *sqlTx) Heads(entity string, gids []string) (map[string]Head, error) {
	out := make(map[string]Head, len(gids))
	var ask []string
	for _, gid := range gids {
		if g, ok := t.m.gold[goldKey{entity, gid}]; ok {
			if g != nil {
				out[gid] = Head{g.Ver, g.Deleted}
			}
			continue
		}
		if p, ok := t.s.gold.get(goldKey{entity, gid}); ok && t.write {
			out[gid] = p.head()
			continue
		}
		ask = append(ask, gid)
	}
	for len(ask) > 0 {
		n := min(len(ask), chunk)
		args := make([]any, 0, n+1)
		args = append(args, entity)
		for _, g := range ask[:n] {
			args = append(args, g)
		}
		ask = ask[n:]
		err := t.each(`SELECT gid, ver, deleted FROM golden WHERE entity=? AND gid IN (`+marks(n)+`)`, args, func(rows *sql.Rows) error {
			var gid string
			var h Head
			if err := rows.Scan(&gid, &h.Ver, &h.Deleted); err != nil {
				return err
			}
			out[gid] = h
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read heads of %s: %w", entity, err)
		}
	}
	return out, nil
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
const goldenCols = `gid, fields, sources, deleted, ver, updated, at, flips, flip_peer`

// scanGolden reads a row of goldenCols.
func scanGolden(row interface{ Scan(...any) error }, entity string) (*Golden, error) {
	g := &Golden{Entity: entity}
	var fields, sources []byte
	var updated, at int64
	if err := row.Scan(&g.GID, &fields, &sources, &g.Deleted, &g.Ver, &updated, &at, &g.Flips, &g.FlipPeer); err != nil {
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
