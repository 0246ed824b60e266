package store

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// genCursor is the cursor that holds the last generation given to
// deliveries (see Outbound.Gen).
const genCursor = "outbound-gen"

// drawGen gives the transaction its generation for the deliveries it
// queues or renews: one more than the last any transaction took.
func (t *sqlTx) drawGen() error {
	if t.m.gen != 0 {
		return nil
	}
	v, _, err := t.Cursor("", genCursor)
	if err != nil {
		return err
	}
	last, _ := strconv.ParseInt(v, 10, 64)
	t.m.gen = last + 1
	return t.PutCursor("", genCursor, strconv.FormatInt(t.m.gen, 10))
}

func (t *sqlTx) Enqueue(system, entity, gid string, ver int64, now time.Time) error {
	if err := t.drawGen(); err != nil {
		return err
	}
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
	if err := t.drawGen(); err != nil {
		return err
	}
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
		args := make([]any, 0, n*5)
		for _, e := range ts[:n] {
			args = append(args, e.system, e.entity, e.gid, e.ver, t.m.gen)
		}
		_, err := t.exec(`UPDATE outbound SET ver=v.column4, gen=v.column5, attempts=0, next_at=0, wait='', error=''
			FROM (VALUES `+rowsOf(n, "(?,?,?,?,?)")+`) AS v
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
		args := make([]any, 0, n*6)
		for _, e := range es[:n] {
			args = append(args, e.system, e.entity, e.gid, e.ver, e.at, t.m.gen)
		}
		_, err := t.exec(`INSERT INTO outbound(system, entity, gid, ver, created, gen) VALUES `+rowsOf(n, "(?,?,?,?,?,?)")+`
			ON CONFLICT(system, entity, gid) DO UPDATE SET ver=excluded.ver, gen=excluded.gen, attempts=0, next_at=0, wait='', error=''`, args...)
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
			args = append(args, o.Seq, o.Gen)
		}
		_, err := t.exec(`DELETE FROM outbound WHERE seq IN (SELECT o.seq FROM (VALUES `+rowsOf(n, "(?,?)")+`) AS v
			CROSS JOIN outbound o ON o.seq=v.column1 AND o.gen=v.column2)`, args...)
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
	rows, err := t.query(`SELECT seq, entity, gid, ver, attempts, next_at, wait, error, created, tried, gen FROM outbound
		WHERE system=? AND seq>? AND next_at<=? ORDER BY seq LIMIT ?`, system, after, now.UnixNano(), max)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Outbound
	for rows.Next() {
		o := Outbound{System: system}
		var next, created int64
		if err := rows.Scan(&o.Seq, &o.Entity, &o.GID, &o.Ver, &o.Attempts, &next, &o.Wait, &o.Error, &created, &o.Tried, &o.Gen); err != nil {
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
	if err != nil {
		return err
	}
	// Queued again meanwhile: it is due at once, as enqueued, but what
	// was learned of the system stays.
	_, err = t.exec(`UPDATE outbound SET attempts=0, next_at=0, wait='', error='' WHERE seq=? AND gen<>?`, o.Seq, o.Gen)
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
	rows, err := t.query(`SELECT seq, system, entity, gid, ver, attempts, next_at, wait, error, created, tried, gen FROM outbound
		WHERE next_at>0 ORDER BY created, seq LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Outbound
	for rows.Next() {
		var o Outbound
		var next, created int64
		if err := rows.Scan(&o.Seq, &o.System, &o.Entity, &o.GID, &o.Ver, &o.Attempts, &next, &o.Wait, &o.Error, &created, &o.Tried, &o.Gen); err != nil {
			return nil, err
		}
		o.NextAt, o.Created = fromNanos(next), fromNanos(created)
		out = append(out, o)
	}
	return out, rows.Err()
}
