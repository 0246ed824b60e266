package store

import (
	"database/sql"
	"fmt"
	"time"
)

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

// HeldKeys implements Log.
func (t *sqlTx) HeldKeys(system, entity string, keys []string) (map[string]bool, error) {
	if err := t.flushChanges(); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	keys = uniqueMissing(keys, func(string) bool { return false })
	for len(keys) > 0 {
		n := min(len(keys), chunk)
		args := make([]any, 0, n+2)
		args = append(args, system, entity)
		for _, k := range keys[:n] {
			args = append(args, k)
		}
		keys = keys[n:]
		err := t.each(`SELECT DISTINCT key FROM changes WHERE state=1 AND system=? AND entity=? AND key IN (`+marks(n)+`)`, args,
			func(rows *sql.Rows) error {
				var k string
				if err := rows.Scan(&k); err != nil {
					return err
				}
				out[k] = true
				return nil
			})
		if err != nil {
			return nil, fmt.Errorf("look for held changes: %w", err)
		}
	}
	return out, nil
}
