package torture

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/tandemhub/tandem/client"
)

// mqApp is an application tandem cannot reach itself: it keeps firms
// and their staff in its own SQLite database and speaks to tandem only
// through a message broker, with the client package. Its users' writes
// publish the record's state in the same transaction (an outbox the
// relay empties); a consumer applies tandem's changes through the same
// save path and reports the outcome. Firms are keyed by an
// autoincrement number, staff by text keys the application makes; a
// firm's code and a staffer's code are the natural keys.
type mqApp struct {
	name string
	db   *sql.DB
	c    *client.Client
	log  *slog.Logger
	stop context.CancelFunc
	wg   sync.WaitGroup
	logf *os.File
}

// The application's entity names in its messages, and its tables.
const (
	mqFirm    = "firm"
	mqStaffer = "staffer"
)

// newMQApp opens the application's database in dir and starts its relay
// and consumer on the broker at brokerURL.
func newMQApp(ctx context.Context, name, dir string, q mqQueues) (*mqApp, error) {
	path := filepath.Join(dir, "mq.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := execAll(ctx, db, []string{
		`CREATE TABLE firms (firm_id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL UNIQUE, label TEXT NOT NULL, grade TEXT, points INTEGER)`,
		`CREATE TABLE staff (staff_key TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, full_name TEXT NOT NULL, firm_id INTEGER)`,
	}); err != nil {
		db.Close()
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "mq-client.log"))
	if err != nil {
		db.Close()
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := client.New(client.Options{System: name, Broker: q.kind, URL: q.url, Outbound: q.out, Inbound: q.in,
		Reports: q.reports, Stream: q.stream, DB: db, Dialect: client.SQLite, RelayPoll: 50 * time.Millisecond, Log: log})
	if err == nil {
		err = c.Setup(ctx)
	}
	if err != nil {
		db.Close()
		logf.Close()
		return nil, err
	}
	a := &mqApp{name: name, db: db, c: c, log: log, logf: logf}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stop = stop
	a.wg.Add(2)
	go func() { defer a.wg.Done(); _ = c.Relay(rctx) }()
	go func() { defer a.wg.Done(); _ = c.Consume(rctx, a.apply) }()
	return a, nil
}

func (a *mqApp) Name() string { return a.name }

func (a *mqApp) Close() error {
	a.stop()
	a.wg.Wait()
	_ = a.c.Close()
	_ = a.logf.Close()
	return a.db.Close()
}

func (a *mqApp) Rows(ctx context.Context, entity string) ([]Row, error) {
	q := `SELECT firm_id, code, label, grade, points FROM firms`
	if entity == Contact {
		q = `SELECT s.staff_key, s.code, s.full_name, s.firm_id, f.code FROM staff s LEFT JOIN firms f ON f.firm_id = s.firm_id`
	}
	rows, err := a.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: read %ss: %w", a.name, entity, err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var v [5]any
		if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4]); err != nil {
			return nil, err
		}
		r := Row{Entity: entity, Key: text(v[0]), Ref: text(v[1])}
		if entity == Account {
			r.State = State{Name: text(v[2]), Tier: text(v[3]), Score: integer(v[4])}
		} else {
			r.AccountKey = text(v[3])
			r.State = State{Name: text(v[2]), Account: text(v[4])}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// mqRow is a record of the application in its own terms.
type mqRow struct {
	key, code, name, grade string
	points                 int64
	firm                   any // a staffer's firm_id, nil for none
}

// read reads the record with code in tx.
func (a *mqApp) read(ctx context.Context, tx *sql.Tx, entity, code string) (mqRow, error) {
	r := mqRow{code: code}
	var err error
	if entity == mqFirm {
		var k, grade, points any
		err = tx.QueryRowContext(ctx, `SELECT firm_id, label, grade, points FROM firms WHERE code = ?`, code).Scan(&k, &r.name, &grade, &points)
		r.key, r.grade, r.points = text(k), text(grade), integer(points)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT staff_key, full_name, firm_id FROM staff WHERE code = ?`, code).Scan(&r.key, &r.name, &r.firm)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return r, errNotHere
	}
	return r, err
}

// state is what a user sees of r, read in tx.
func (a *mqApp) state(ctx context.Context, tx *sql.Tx, entity string, r mqRow) (State, error) {
	if entity == mqFirm {
		return State{Name: r.name, Tier: r.grade, Score: r.points}, nil
	}
	s := State{Name: r.name}
	if r.firm != nil {
		var code string
		err := tx.QueryRowContext(ctx, `SELECT code FROM firms WHERE firm_id = ?`, r.firm).Scan(&code)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return s, err
		}
		s.Account = code
	}
	return s, nil
}

// save is the application's one save path: it writes r (a new record
// when r.key is ""), then publishes its whole state, in tx. It returns
// the record's key.
func (a *mqApp) save(ctx context.Context, tx *sql.Tx, entity string, r mqRow) (string, error) {
	var err error
	switch {
	case entity == mqFirm && r.key == "":
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO firms (code, label, grade, points) VALUES (?, ?, ?, ?) RETURNING firm_id`,
			r.code, r.name, r.grade, r.points).Scan(&id)
		r.key = strconv.FormatInt(id, 10)
	case entity == mqFirm:
		_, err = tx.ExecContext(ctx, `UPDATE firms SET label = ?, grade = ?, points = ? WHERE firm_id = ?`, r.name, r.grade, r.points, r.key)
	case r.key == "":
		r.key = randomName("s-")
		_, err = tx.ExecContext(ctx, `INSERT INTO staff (staff_key, code, full_name, firm_id) VALUES (?, ?, ?, ?)`, r.key, r.code, r.name, r.firm)
	default:
		_, err = tx.ExecContext(ctx, `UPDATE staff SET full_name = ?, firm_id = ? WHERE staff_key = ?`, r.name, r.firm, r.key)
	}
	if err != nil {
		return "", fmt.Errorf("%s: save %s %s: %w", a.name, entity, r.code, err)
	}
	f := map[string]any{"code": r.code}
	if entity == mqFirm {
		f["label"], f["grade"], f["points"] = r.name, r.grade, r.points
	} else {
		var firm any
		if r.firm != nil {
			firm = text(r.firm)
		}
		f["full_name"], f["firm"] = r.name, firm
	}
	return r.key, a.c.Publish(ctx, tx, client.Change{Entity: entity, Key: r.key, Fields: f})
}

// remove deletes the record with key and publishes that, in tx. It
// reports whether there was one.
func (a *mqApp) remove(ctx context.Context, tx *sql.Tx, entity, key string) (bool, error) {
	q := `DELETE FROM firms WHERE firm_id = ?`
	if entity == mqStaffer {
		q = `DELETE FROM staff WHERE staff_key = ?`
	}
	res, err := tx.ExecContext(ctx, q, key)
	if err != nil {
		return false, fmt.Errorf("%s: delete %s %s: %w", a.name, entity, key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	return true, a.c.Publish(ctx, tx, client.Change{Entity: entity, Key: key, Delete: true})
}

func mqEntity(entity string) string {
	if entity == Account {
		return mqFirm
	}
	return mqStaffer
}

// firmID finds the key of the firm with code in tx ("" for none).
func (a *mqApp) firmID(ctx context.Context, tx *sql.Tx, code string) (any, error) {
	if code == "" {
		return nil, nil
	}
	f, err := a.read(ctx, tx, mqFirm, code)
	if err != nil {
		return nil, err
	}
	return f.key, nil
}

// user runs fn in one transaction of the application, as a user's action.
func (a *mqApp) user(ctx context.Context, fn func(tx *sql.Tx) (State, error)) (State, error) {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return State{}, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	s, err := fn(tx)
	if err != nil {
		return s, err
	}
	return s, tx.Commit()
}

func (a *mqApp) Create(ctx context.Context, entity, ref string, s State) (State, error) {
	e := mqEntity(entity)
	return a.user(ctx, func(tx *sql.Tx) (State, error) {
		r := mqRow{code: ref, name: s.Name, grade: s.Tier, points: s.Score}
		if e == mqStaffer {
			var err error
			if r.firm, err = a.firmID(ctx, tx, s.Account); err != nil {
				return s, err
			}
		}
		if _, err := a.save(ctx, tx, e, r); err != nil {
			return s, err
		}
		got, err := a.read(ctx, tx, e, ref)
		if err != nil {
			return s, err
		}
		return a.state(ctx, tx, e, got)
	})
}

func (a *mqApp) Update(ctx context.Context, entity, ref string, p Patch) (State, error) {
	e := mqEntity(entity)
	return a.user(ctx, func(tx *sql.Tx) (State, error) {
		r, err := a.read(ctx, tx, e, ref)
		if err != nil {
			return State{}, err
		}
		if p.Name != nil {
			r.name = *p.Name
		}
		if p.Tier != nil {
			r.grade = *p.Tier
		}
		if p.Score != nil {
			r.points = *p.Score
		}
		if p.Account != nil {
			if r.firm, err = a.firmID(ctx, tx, *p.Account); err != nil {
				return State{}, err
			}
		}
		if _, err := a.save(ctx, tx, e, r); err != nil {
			return State{}, err
		}
		return a.state(ctx, tx, e, r)
	})
}

func (a *mqApp) Delete(ctx context.Context, entity, ref string) error {
	e := mqEntity(entity)
	_, err := a.user(ctx, func(tx *sql.Tx) (State, error) {
		r, err := a.read(ctx, tx, e, ref)
		if err != nil {
			return State{}, err
		}
		_, err = a.remove(ctx, tx, e, r.key)
		return State{}, err
	})
	return err
}
