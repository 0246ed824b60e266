package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

// SQLite is the embedded store: one file in the data directory.
// One hub process writes it, holding the data directory's lock (see
// OpenExclusive); CLI commands may read it and make small writes
// (dead-letter retries) at the same time, serialised by SQLite.
type SQLite struct {
	w *sql.DB // one connection: SQLite has a single writer anyway
	r *sql.DB // readers, for View
	// mu serialises Update within the process so prepared statements on
	// the single writer connection are never shared across transactions.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	// rstmts are statements on the reader pool; database/sql prepares
	// each on a reader connection the first time it runs there.
	rmu    sync.Mutex
	rstmts map[string]*sql.Stmt
	gold   *goldenCache
	ck     *checkpointer
	lock   *Lock  // the data directory's lock, when opened by OpenExclusive
	path   string // the store file, for errors
	// broken receives the first damage found while the store is open.
	broken     chan error
	brokenOnce sync.Once
}

// Damaged delivers the first *DamagedError an Update or View returned:
// nothing done with the store can succeed after it, so the hub stops.
func (s *SQLite) Damaged() <-chan error { return s.broken }

// seen passes err through, noting it if it is damage.
func (s *SQLite) seen(err error) error {
	if errors.Is(err, ErrDamaged) {
		s.brokenOnce.Do(func() { s.broken <- err })
	}
	return err
}

// GoldenCacheBytes is how much memory the store's cache of golden
// records may take, by its estimate: about 150,000 records of five short
// fields.
const GoldenCacheBytes = 32 << 20

// FileName is the store file inside the data directory.
const FileName = "tandem.db"

// OpenExclusive opens the store in dir for a hub. It first takes the data
// directory's lock (see LockDir) and holds it until Close, so that a
// second hub on the same directory is refused at once: two hubs would
// each trust their own cache of golden records and drift apart. Commands
// that only read the store, or mark dead letters for the hub to act on,
// use OpenSQLite and run next to the hub.
func OpenExclusive(ctx context.Context, dir string) (*SQLite, error) {
	l, err := LockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := OpenSQLite(ctx, dir)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	s.lock = l
	return s, nil
}

// OpenSQLite opens (creating if needed) the store in dir, without taking
// the data directory's lock. The directory and the store's files are
// made private to the user (0700, 0600: see makePrivate), and a store
// SQLite's quick check finds damaged is refused with a *DamagedError
// (see check).
func OpenSQLite(ctx context.Context, dir string) (*SQLite, error) {
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	f, err := openPrivate(path)
	if err != nil {
		return nil, fmt.Errorf("create store %s: %w", path, err)
	}
	f.Close()
	for _, name := range []string{path + "-wal", path + "-shm"} {
		if err := makePrivate(name, nil); err != nil {
			return nil, err
		}
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(15000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(OFF)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := check(ctx, w, path); err != nil {
		w.Close()
		return nil, err
	}
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		return nil, schemaErr("create store schema in", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, schemaErr("upgrade store schema in", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(15000)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s := &SQLite{w: w, r: r, path: path, stmts: map[string]*sql.Stmt{}, rstmts: map[string]*sql.Stmt{}, gold: newGoldenCache(GoldenCacheBytes),
		broken: make(chan error, 1)}
	if s.ck, err = startCheckpoints(s); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// Update implements Store. An error of a store found damaged since it
// was opened is a *DamagedError: retrying cannot help.
func (s *SQLite) Update(ctx context.Context, fn func(Tx) error) error {
	return s.seen(damaged(s.path, s.update(ctx, fn)))
}

func (s *SQLite) update(ctx context.Context, fn func(Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin store transaction: %w", err)
	}
	// Statements run without ctx's cancellation: they are short, and a
	// cancellable context costs the driver a goroutine per statement.
	// Cancelling ctx still rolls the transaction back.
	t := &sqlTx{ctx: context.WithoutCancel(ctx), tx: tx, s: s, write: true, m: newMemo(true)}
	// Statements first used in this transaction are prepared on the
	// connection once it is free again, for the next transactions.
	defer func() { s.prepare(ctx, t.unprepared) }()
	err = fn(t.roles())
	if err == nil {
		err = t.flush()
	}
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit store transaction: %w", err)
	}
	s.gold.put(t.m.published)
	return nil
}

func (s *SQLite) prepare(ctx context.Context, qs []string) {
	for _, q := range qs {
		if _, ok := s.stmts[q]; ok {
			continue
		}
		if st, err := s.w.PrepareContext(ctx, q); err == nil { //nolint:sqlclosecheck // kept for the store's life; Close closes it
			s.stmts[q] = st
		}
	}
}

// readStmt returns the reader pool's statement for q, if prepared.
func (s *SQLite) readStmt(q string) (*sql.Stmt, bool) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	st, ok := s.rstmts[q]
	return st, ok
}

// keepRead keeps st as the reader pool's statement for q, unless one is
// kept already.
func (s *SQLite) keepRead(q string, st *sql.Stmt) bool {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if _, ok := s.rstmts[q]; ok {
		return false
	}
	s.rstmts[q] = st
	return true
}

// prepareRead prepares statements on the reader pool for later reads.
// It runs after a read has released its connection: preparing takes a
// connection of the pool, and holding one while waiting for another
// could leave every reader waiting.
func (s *SQLite) prepareRead(ctx context.Context, qs []string) {
	for _, q := range qs {
		if _, ok := s.readStmt(q); ok { //nolint:sqlclosecheck // kept for the store's life; Close closes it
			continue
		}
		st, err := s.r.PrepareContext(ctx, q) //nolint:sqlclosecheck // kept for the store's life; Close closes it
		if err != nil {
			continue
		}
		if !s.keepRead(q, st) {
			_ = st.Close() //nolint:sqlclosecheck // another read prepared it meanwhile; this one is not kept
		}
	}
}

// View implements Store. An error of a store found damaged since it was
// opened is a *DamagedError.
func (s *SQLite) View(ctx context.Context, fn func(Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.seen(damaged(s.path, fmt.Errorf("begin store read: %w", err)))
	}
	t := &sqlTx{ctx: context.WithoutCancel(ctx), tx: tx, s: s, m: newMemo(false)}
	err = fn(t.roles())
	_ = tx.Rollback()
	s.prepareRead(t.ctx, t.unprepared)
	return s.seen(damaged(s.path, err))
}

// Close implements Store.
func (s *SQLite) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.rmu.Lock()
	for _, st := range s.rstmts {
		st.Close()
	}
	s.rmu.Unlock()
	err := errors.Join(s.ck.close(), s.r.Close(), s.w.Close())
	// The lock goes last, once nothing of this process writes the file.
	return errors.Join(err, s.lock.Close())
}
