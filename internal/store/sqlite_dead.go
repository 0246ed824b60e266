package store

import (
	"database/sql"
	"fmt"
)

func (t *sqlTx) AddDead(d *DeadLetter) error {
	f, err := encode(d.Fields)
	if err != nil {
		return err
	}
	if d.State == "" {
		d.State = DeadOpen
	}
	res, err := t.exec(`INSERT INTO dead(stage, system, entity, key, gid, op, fields, field, error, attempts, at, state)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`, d.Stage, d.System, d.Entity, d.Key, d.GID, d.Op, f, d.Field, d.Error,
		d.Attempts, nanos(d.At), d.State)
	if err != nil {
		return fmt.Errorf("add dead letter: %w", err)
	}
	d.ID, err = res.LastInsertId()
	return err
}

const deadCols = `id, stage, system, entity, key, gid, op, fields, field, error, attempts, at, state`

func scanDead(rows *sql.Rows) (DeadLetter, error) {
	var d DeadLetter
	var f []byte
	var at int64
	if err := rows.Scan(&d.ID, &d.Stage, &d.System, &d.Entity, &d.Key, &d.GID, &d.Op, &f, &d.Field, &d.Error, &d.Attempts, &at, &d.State); err != nil {
		return d, err
	}
	d.At = fromNanos(at)
	var err error
	d.Fields, err = decodeFields(f)
	return d, err
}

func (t *sqlTx) DeadLetters(state DeadState, limit int) ([]DeadLetter, error) {
	q := `SELECT ` + deadCols + ` FROM dead WHERE state=? ORDER BY id LIMIT ?`
	args := []any{state, limit}
	if state == "" {
		q = `SELECT ` + deadCols + ` FROM dead ORDER BY id LIMIT ?`
		args = []any{limit}
	}
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		d, err := scanDead(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (t *sqlTx) DeadLetter(id int64) (*DeadLetter, error) {
	rows, err := t.query(`SELECT `+deadCols+` FROM dead WHERE id=?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("no dead letter %d", id)
	}
	d, err := scanDead(rows)
	return &d, err
}

func (t *sqlTx) SetDeadState(id int64, s DeadState) error {
	_, err := t.exec(`UPDATE dead SET state=? WHERE id=?`, s, id)
	return err
}

func (t *sqlTx) ResolveDead(stage Stage, system, entity, keyOrGID string) error {
	col := "key"
	if stage == StageDeliver {
		col = "gid"
	}
	_, err := t.exec(`UPDATE dead SET state='resolved' WHERE stage=? AND system=? AND entity=? AND `+col+`=? AND state IN ('open','retried')`,
		stage, system, entity, keyOrGID)
	return err
}

func (t *sqlTx) HasOpenDead(stage Stage) (bool, error) {
	var n int
	row, err := t.queryRow(`SELECT EXISTS(SELECT 1 FROM dead WHERE state IN ('open','retried','retry') AND stage=?)`, stage)
	if err != nil {
		return false, err
	}
	if err := row.Scan(&n); err != nil {
		return false, fmt.Errorf("look for open dead letters: %w", err)
	}
	return n == 1, nil
}
