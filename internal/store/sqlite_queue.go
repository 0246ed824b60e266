package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tandemhub/tandem/internal/record"
)

func (t *sqlTx) Enqueue(system, entity, gid string, ver int64, now time.Time) error {
	if len(t.m.done) > 0 {
		if err := t.flushDone(); err != nil {
			return err
		}
	}
	k := revKey{entity, gid, system}
	if i, ok := t.m.enqAt[k]; ok {
		t.m.enq[i].ver = ver
		return nil
	}
	t.m.enqAt[k] = len(t.m.enq)
	t.m.enq = append(t.m.enq, enqueued{system: system, entity: entity, gid: gid, ver: ver, at: now.UnixNano()})
	return nil
}

func (t *sqlTx) Touch(system, entity, gid string, ver int64) error {
	if len(t.m.done) > 0 {
		// A completion before it goes first, as called.
		if err := t.flushDone(); err != nil {
			return err
		}
	}
	// Enqueue and Touch set the same columns: a queued Enqueue takes the new version.
	if i, ok := t.m.enqAt[revKey{entity, gid, system}]; ok {
		t.m.enq[i].ver = ver
	}
	k := revKey{entity, gid, system}
	if i, ok := t.m.touchAt[k]; ok {
		t.m.touch[i].ver = ver
		return nil
	}
	t.m.touchAt[k] = len(t.m.touch)
	t.m.touch = append(t.m.touch, enqueued{system: system, entity: entity, gid: gid, ver: ver})
	return nil
}

func (t *sqlTx) flushTouched() error {
	ts := t.m.touch
	t.m.touch = nil
	clear(t.m.touchAt)
	for len(ts) > 0 {
		n := min(len(ts), chunk)
		args := make([]any, 0, n*4)
		for _, e := range ts[:n] {
			args = append(args, e.system, e.entity, e.gid, e.ver)
		}
		_, err := t.exec(`UPDATE outbound SET ver=v.column4, attempts=0, next_at=0, wait='', error=''
			FROM (VALUES `+rowsOf(n, "(?,?,?,?)")+`) AS v
			WHERE outbound.system=v.column1 AND outbound.entity=v.column2 AND outbound.gid=v.column3`, args...)
		if err != nil {
			return fmt.Errorf("renew deliveries: %w", err)
		}
		ts = ts[n:]
	}
	return nil
}

// flushOutbound writes queued enqueues and completions.
func (t *sqlTx) flushOutbound() error {
	if err := t.flushTouched(); err != nil {
		return err
	}
	if err := t.flushEnqueued(); err != nil {
		return err
	}
	return t.flushDone()
}

func (t *sqlTx) flushEnqueued() error {
	es := t.m.enq
	t.m.enq = nil
	clear(t.m.enqAt)
	for len(es) > 0 {
		n := min(len(es), chunk)
		args := make([]any, 0, n*5)
		for _, e := range es[:n] {
			args = append(args, e.system, e.entity, e.gid, e.ver, e.at)
		}
		_, err := t.exec(`INSERT INTO outbound(system, entity, gid, ver, created) VALUES `+rowsOf(n, "(?,?,?,?,?)")+`
			ON CONFLICT(system, entity, gid) DO UPDATE SET ver=excluded.ver, attempts=0, next_at=0, wait='', error=''`, args...)
		if err != nil {
			return fmt.Errorf("enqueue deliveries: %w", err)
		}
		es = es[n:]
	}
	return nil
}

func (t *sqlTx) flushDone() error {
	ds := t.m.done
	t.m.done = nil
	for len(ds) > 0 {
		n := min(len(ds), chunk)
		args := make([]any, 0, n*2)
		for _, o := range ds[:n] {
			args = append(args, o.Seq, o.Ver)
		}
		_, err := t.exec(`DELETE FROM outbound WHERE seq IN (SELECT o.seq FROM (VALUES `+rowsOf(n, "(?,?)")+`) AS v
			CROSS JOIN outbound o ON o.seq=v.column1 AND o.ver<=v.column2)`, args...)
		if err != nil {
			return fmt.Errorf("complete deliveries: %w", err)
		}
		ds = ds[n:]
	}
	return nil
}

func (t *sqlTx) Due(system string, now time.Time, after int64, max int) ([]Outbound, error) {
	if err := t.flushOutbound(); err != nil {
		return nil, err
	}
	rows, err := t.query(`SELECT seq, entity, gid, ver, attempts, next_at, wait, error, created, tried FROM outbound
		WHERE system=? AND seq>? AND next_at<=? ORDER BY seq LIMIT ?`, system, after, now.UnixNano(), max)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Outbound
	for rows.Next() {
		o := Outbound{System: system}
		var next, created int64
		if err := rows.Scan(&o.Seq, &o.Entity, &o.GID, &o.Ver, &o.Attempts, &next, &o.Wait, &o.Error, &created, &o.Tried); err != nil {
			return nil, err
		}
		o.NextAt, o.Created = fromNanos(next), fromNanos(created)
		out = append(out, o)
	}
	return out, rows.Err()
}

func (t *sqlTx) Done(o Outbound) error {
	// Completions are written last at flush: what was called before
	// them goes first, so they judge the version as called.
	if len(t.m.enq) > 0 || len(t.m.touch) > 0 {
		if err := errors.Join(t.flushTouched(), t.flushEnqueued()); err != nil {
			return err
		}
	}
	t.m.done = append(t.m.done, o)
	return nil
}

func (t *sqlTx) Defer(o Outbound) error {
	if err := t.flushOutbound(); err != nil {
		return err
	}
	_, err := t.exec(`UPDATE outbound SET attempts=?, next_at=?, wait=?, error=?, tried=MAX(tried, ?) WHERE seq=?`,
		o.Attempts, nanos(o.NextAt), o.Wait, o.Error, o.Tried, o.Seq)
	if err != nil || o.Ver == 0 {
		return err
	}
	// A newer version replaced o meanwhile: it is due at once, as
	// enqueued, but what was learned of the system stays.
	_, err = t.exec(`UPDATE outbound SET attempts=0, next_at=0, wait='', error='' WHERE seq=? AND ver>?`, o.Seq, o.Ver)
	return err
}

func (t *sqlTx) Settle(system, entity, gid string, ver int64) error {
	if err := t.flushOutbound(); err != nil {
		return err
	}
	_, err := t.exec(`DELETE FROM outbound WHERE system=? AND entity=? AND gid=? AND ver<=?`, system, entity, gid, ver)
	return err
}

func (t *sqlTx) Unsettle() error {
	if err := t.flushOutbound(); err != nil {
		return err
	}
	_, err := t.exec(`UPDATE outbound SET tried=1 WHERE tried=0`)
	return err
}

func (t *sqlTx) Drop(o Outbound) error {
	if err := t.flushOutbound(); err != nil {
		return err
	}
	_, err := t.exec(`DELETE FROM outbound WHERE seq=?`, o.Seq)
	return err
}

func (t *sqlTx) Backlog() ([]Pending, error) {
	if err := t.flushOutbound(); err != nil {
		return nil, err
	}
	rows, err := t.query(`SELECT system, entity, COUNT(*), MIN(created), SUM(CASE WHEN next_at>0 THEN 1 ELSE 0 END),
		SUM(CASE WHEN wait<>'' THEN 1 ELSE 0 END), COALESCE(MIN(CASE WHEN wait<>'' THEN created END), 0)
		FROM outbound GROUP BY system, entity ORDER BY system, entity`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Pending
	for rows.Next() {
		var p Pending
		var oldest, oldestParent int64
		if err := rows.Scan(&p.System, &p.Entity, &p.N, &oldest, &p.Waiting, &p.Parents, &oldestParent); err != nil {
			return nil, err
		}
		p.Oldest, p.OldestParent = fromNanos(oldest), fromNanos(oldestParent)
		out = append(out, p)
	}
	return out, rows.Err()
}

func (t *sqlTx) Waiting(limit int) ([]Outbound, error) {
	if err := t.flushOutbound(); err != nil {
		return nil, err
	}
	rows, err := t.query(`SELECT seq, system, entity, gid, ver, attempts, next_at, wait, error, created, tried FROM outbound
		WHERE next_at>0 ORDER BY created, seq LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Outbound
	for rows.Next() {
		var o Outbound
		var next, created int64
		if err := rows.Scan(&o.Seq, &o.System, &o.Entity, &o.GID, &o.Ver, &o.Attempts, &next, &o.Wait, &o.Error, &created, &o.Tried); err != nil {
			return nil, err
		}
		o.NextAt, o.Created = fromNanos(next), fromNanos(created)
		out = append(out, o)
	}
	return out, rows.Err()
}

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

func (t *sqlTx) Cursor(system, name string) (string, bool, error) {
	var v string
	row, err := t.queryRow(`SELECT value FROM cursors WHERE system=? AND name=?`, system, name)
	ok, err := one(row, err, &v)
	return v, ok, err
}

func (t *sqlTx) PutCursor(system, name, value string) error {
	_, err := t.exec(`INSERT INTO cursors(system, name, value) VALUES(?,?,?)
		ON CONFLICT(system, name) DO UPDATE SET value=excluded.value`, system, name, value)
	return err
}

func (t *sqlTx) AddCount(c Count) error {
	_, err := t.exec(`INSERT INTO counters(system, entity, captured, dropped, delivered, dead, last_capture, last_delivery)
		VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(system, entity) DO UPDATE SET
		captured=captured+excluded.captured, dropped=dropped+excluded.dropped,
		delivered=delivered+excluded.delivered, dead=dead+excluded.dead,
		last_capture=MAX(last_capture, excluded.last_capture), last_delivery=MAX(last_delivery, excluded.last_delivery)`,
		c.System, c.Entity, c.Captured, c.Dropped, c.Delivered, c.Dead, nanos(c.LastCapture), nanos(c.LastDelivery))
	return err
}

func (t *sqlTx) Counts() ([]Count, error) {
	rows, err := t.query(`SELECT system, entity, captured, dropped, delivered, dead, last_capture, last_delivery
		FROM counters ORDER BY system, entity`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		var lc, ld int64
		if err := rows.Scan(&c.System, &c.Entity, &c.Captured, &c.Dropped, &c.Delivered, &c.Dead, &lc, &ld); err != nil {
			return nil, err
		}
		c.LastCapture, c.LastDelivery = fromNanos(lc), fromNanos(ld)
		out = append(out, c)
	}
	return out, rows.Err()
}

// sentKept is how many writes of one delivery MarkSent remembers.
const sentKept = 3

// sentRow is one element of outbound.sent.
type sentRow struct {
	At     int64           `json:"at"`
	Fields json.RawMessage `json:"fields"`
	Stamp  int64           `json:"stamp,omitempty"`
}

func (t *sqlTx) MarkSent(system, entity, gid string, fields record.Fields, at time.Time) error {
	rows, err := t.sentRows(system, entity, gid)
	if err != nil {
		return err
	}
	f, err := encode(fields)
	if err != nil {
		return fmt.Errorf("encode the fields sent of %s %s to %s: %w", entity, gid, system, err)
	}
	rows = append(rows, sentRow{At: nanos(at), Fields: f})
	if len(rows) > sentKept {
		rows = rows[len(rows)-sentKept:]
	}
	return t.putSent(system, entity, gid, rows)
}

func (t *sqlTx) putSent(system, entity, gid string, rows []sentRow) error {
	b, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("encode the fields sent of %s %s to %s: %w", entity, gid, system, err)
	}
	_, err = t.exec(`UPDATE outbound SET sent=? WHERE system=? AND entity=? AND gid=?`, b, system, entity, gid)
	return err
}

func (t *sqlTx) MarkAnswered(system, entity, gid string, stamp int64) error {
	rows, err := t.sentRows(system, entity, gid)
	if err != nil || len(rows) == 0 {
		return err
	}
	rows[len(rows)-1].Stamp = stamp
	return t.putSent(system, entity, gid, rows)
}

func (t *sqlTx) Sent(system, entity, gid string) ([]Sent, error) {
	rows, err := t.sentRows(system, entity, gid)
	if err != nil {
		return nil, err
	}
	out := make([]Sent, 0, len(rows))
	for _, r := range rows {
		f, err := decodeFields(r.Fields)
		if err != nil {
			return nil, err
		}
		out = append(out, Sent{At: time.Unix(0, r.At), Fields: f, Stamp: r.Stamp})
	}
	return out, nil
}

func (t *sqlTx) sentRows(system, entity, gid string) ([]sentRow, error) {
	if err := t.flushOutbound(); err != nil {
		return nil, err
	}
	var b []byte
	row, err := t.queryRow(`SELECT sent FROM outbound WHERE system=? AND entity=? AND gid=?`, system, entity, gid)
	if err != nil {
		return nil, err
	}
	err = row.Scan(&b)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && len(b) == 0) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rows []sentRow
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("decode the fields sent of %s %s to %s: %w", entity, gid, system, err)
	}
	return rows, nil
}

func (t *sqlTx) ClearSent(system, entity, gid string) error {
	if err := t.flushOutbound(); err != nil {
		return err
	}
	_, err := t.exec(`UPDATE outbound SET sent=NULL WHERE system=? AND entity=? AND gid=? AND sent IS NOT NULL`, system, entity, gid)
	return err
}
