package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the accounting system
	_ "github.com/jackc/pgx/v5/stdlib" // the catalogue system
	_ "modernc.org/sqlite"             // the CRM

	"github.com/tandemhub/tandem/internal/testenv"
)

// env is one test's three systems, its tandem.yaml and its hub.
type env struct {
	t       *testing.T
	dir     string // holds tandem.yaml and the store
	cfg     string // path of tandem.yaml
	pgDSN   string
	myDSN   string
	crmPath string
	sys     map[string]*system
	hub     *hubProc // the current `tandem run`, if any
	hubs    int      // how many were started
}

// newEnv makes fresh databases, creates the applications' tables, writes
// tandem.yaml and runs `tandem setup`.
func newEnv(t *testing.T, opt configOptions) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), pgDSN: testenv.Postgres(t), myDSN: testenv.MySQL(t), crmPath: testenv.SQLite(t)}
	e.cfg = filepath.Join(e.dir, "tandem.yaml")
	ctx := context.Background()
	pg := openDB(t, "pgx", e.pgDSN)
	my := openDB(t, "mysql", e.myDSN)
	cr := openDB(t, "sqlite", "file:"+e.crmPath+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	cr.SetMaxOpenConns(1)
	for db, ddl := range map[*sql.DB][]string{pg: catalogueDDL, my: accountingDDL, cr: crmDDL} {
		for _, q := range ddl {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("create tables: %v\n%s", err, q)
			}
		}
	}
	e.sys = map[string]*system{catalogue: catalogueSystem(pg), accounting: accountingSystem(my), crm: crmSystem(cr)}
	e.writeConfig(opt)
	if out, err := e.tandem("setup"); err != nil {
		t.Fatalf("tandem setup: %v\n%s", err, out)
	}
	return e
}

func openDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (e *env) writeConfig(opt configOptions) {
	e.t.Helper()
	y := renderConfig(e.pgDSN, e.myDSN, e.crmPath, opt)
	if err := os.WriteFile(e.cfg, []byte(y), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// tandem runs a tandem command against the test's configuration and
// returns its standard output, with standard error after it when the
// command fails.
func (e *env) tandem(args ...string) (string, error) {
	return runTandem(e.dir, append(args, "-c", e.cfg)...)
}

func runTandem(dir string, args ...string) (string, error) {
	return runTandemWithin(time.Minute, dir, args...)
}

// runTandemWithin is runTandem for a command that must end within limit.
// One that does not is stopped with SIGQUIT, so that its output shows
// where each of its goroutines was stuck.
func runTandemWithin(limit time.Duration, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, tandemBin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("tandem %s: %w", strings.Join(args, " "), err)
	}
	return stdout.String(), nil
}

// hubProc is a running `tandem run`.
type hubProc struct {
	n    int
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // how it exited, once done is closed
}

// startHub starts `tandem run` and waits until its initial snapshots are
// done. The hub is stopped when the test ends; its log is shown if the
// test failed.
func (e *env) startHub() *hubProc {
	e.t.Helper()
	return e.startHubArgs()
}

// startHubArgs is startHub with more arguments to `tandem run`.
func (e *env) startHubArgs(args ...string) *hubProc {
	e.t.Helper()
	e.hubs++
	h := &hubProc{n: e.hubs, out: &syncBuffer{}, done: make(chan struct{})}
	h.cmd = exec.Command(tandemBin, append([]string{"run", "-c", e.cfg}, args...)...)
	h.cmd.Dir = e.dir
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	if err := h.cmd.Start(); err != nil {
		e.t.Fatalf("start tandem run: %v", err)
	}
	go func() {
		h.err = h.cmd.Wait()
		close(h.done)
	}()
	e.hub = h
	t := e.t
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("output of tandem run #%d (%v):\n%s", h.n, h.err, tail(h.out.String(), 150))
		}
	})
	e.eventually(60*time.Second, "tandem run is ready", func() error {
		if !strings.Contains(h.out.String(), "initial snapshots done") {
			return errors.New("no \"initial snapshots done\" in its log yet")
		}
		return nil
	})
	return h
}

func (h *hubProc) exited() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// kill ends the hub with SIGKILL, as a crash would.
func (h *hubProc) kill() {
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.done
}

// stop asks the hub to stop (SIGTERM) and kills it if it has not within 10s.
func (h *hubProc) stop() {
	if h.exited() {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		h.kill()
	}
}

// eventually calls fn until it returns nil, failing the test with fn's
// last error once limit has passed or if the hub has exited.
func (e *env) eventually(limit time.Duration, what string, fn func() error) {
	e.t.Helper()
	eventually(e.t, limit, what, func() error {
		if h := e.hub; h != nil && h.exited() {
			if h.err == nil {
				return fatalErr{fmt.Errorf("tandem run #%d exited with status 0", h.n)}
			}
			return fatalErr{fmt.Errorf("tandem run #%d exited: %w", h.n, h.err)}
		}
		return fn()
	})
}

// fatalErr is an error that ends eventually at once.
type fatalErr struct{ error }

// eventually calls fn every 100ms until it returns nil; it fails the test
// with fn's last error once limit has passed.
func eventually(t testing.TB, limit time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := fn()
		if err == nil {
			return
		}
		var s fatalErr
		if errors.As(err, &s) {
			t.Fatalf("%s: %v", what, s.error)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// statusRow is one row of `tandem status --json`.
type statusRow struct {
	System, Entity                                             string
	Captured, Dropped, Held, Pending, Waiting, Delivered, Dead int64
}

// status returns the rows of `tandem status --json`, which exits 1 when
// something is held, dead or failing: that is a status, not an error.
func (e *env) status() ([]statusRow, error) {
	rep, _, err := e.statusReport()
	if err != nil {
		return nil, err
	}
	return rep.Rows, nil
}

func totals(rows []statusRow) (captured, dropped, pending, delivered, dead int64) {
	for _, r := range rows {
		captured += r.Captured
		dropped += r.Dropped
		pending += r.Pending
		delivered += r.Delivered
		dead += r.Dead
	}
	return
}

// drain waits until nothing is pending and nothing new is captured or
// delivered for a second, per `tandem status --json`.
func (e *env) drain(limit time.Duration) {
	e.t.Helper()
	var last []statusRow
	var quietSince time.Time
	e.eventually(limit, "tandem drains", func() error {
		rows, err := e.status()
		if err != nil {
			return err
		}
		c, _, p, d, _ := totals(rows)
		lc, _, _, ld, _ := totals(last)
		last = rows
		if p != 0 || c != lc || d != ld {
			quietSince = time.Time{}
			return fmt.Errorf("pending %d, captured %d, delivered %d", p, c, d)
		}
		if quietSince.IsZero() {
			quietSince = time.Now()
		}
		if time.Since(quietSince) < time.Second {
			return errors.New("quiet for less than a second")
		}
		return nil
	})
}

// holdings reads what every system holds.
func (e *env) holdings() (map[string]*holdings, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]*holdings{}
	for _, s := range systemNames {
		h, err := e.sys[s].read(ctx)
		if err != nil {
			return nil, err
		}
		out[s] = h
	}
	return out, nil
}

// agree waits until every system holds the same records. If they do not,
// it shows what tandem knows of each record they disagree on.
func (e *env) agree(limit time.Duration) map[string]*holdings {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if h := e.hub; h != nil && h.exited() {
			e.t.Fatalf("tandem run #%d exited: %v", h.n, h.err)
		}
		hs, err := e.holdings()
		if err != nil {
			e.t.Fatal(err)
		}
		d := disagreements(hs)
		if len(d) == 0 {
			return hs
		}
		if time.Now().After(deadline) {
			e.keep()
			e.t.Fatalf("the three systems do not agree within %s: %d disagreements:\n%s\n%s",
				limit, len(d), strings.Join(first(d, 20), "\n"), e.explain(hs, d))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// keep copies the work directory (config, store, log) to the directory
// TANDEM_E2E_KEEP names, if set, so that a failure can be looked into.
func (e *env) keep() {
	to := os.Getenv("TANDEM_E2E_KEEP")
	if to == "" {
		return
	}
	dst := filepath.Join(to, strings.ReplaceAll(e.t.Name(), "/", "_"))
	if out, err := exec.Command("cp", "-a", e.dir, dst).CombinedOutput(); err != nil {
		e.t.Logf("keeping %s: %v %s", e.dir, err, out)
		return
	}
	e.t.Logf("work directory kept in %s", dst)
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}

// deadLetter is one entry of `tandem dlq list --json`.
type deadLetter struct {
	ID                              int64
	Stage, System, Entity, Key, GID string
	Field, Error, State             string
	Attempts                        int
}

func (e *env) deadLetters(state string) ([]deadLetter, error) {
	out, err := e.tandem("dlq", "list", "--json", "--state", state)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, out)
	}
	var ds []deadLetter
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		return nil, fmt.Errorf("tandem dlq list --json: %w\n%s", err, out)
	}
	return ds, nil
}

// noDeadLetters fails the test if any dead letter is open.
func (e *env) noDeadLetters() {
	e.t.Helper()
	ds, err := e.deadLetters("open")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, d := range ds {
		e.t.Errorf("open dead letter %d: %s %s %s %s key %q field %q: %s", d.ID, d.Stage, d.System, d.Entity, d.GID, d.Key, d.Field, d.Error)
	}
}

// links runs `tandem links ENTITY SYSTEM:KEY` and returns the record's
// global id, its key in every system and whether its golden record is live.
func (e *env) links(entity, system, key string) (gid string, keys map[string]string, state string, err error) {
	out, err := e.tandem("links", entity, system+":"+key)
	if err != nil {
		return "", nil, "", fmt.Errorf("%w\n%s", err, out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	head := strings.Fields(lines[0])
	if len(head) != 2 || head[0] != entity {
		return "", nil, "", fmt.Errorf("tandem links: unexpected first line %q", lines[0])
	}
	gid, keys = head[1], map[string]string{}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "golden (") {
			state = strings.TrimSuffix(strings.TrimPrefix(l, "golden ("), "):")
			break
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			return "", nil, "", fmt.Errorf("tandem links: unexpected line %q in\n%s", l, out)
		}
		keys[f[0]] = f[1]
	}
	return gid, keys, state, nil
}

// syncBuffer is a bytes.Buffer safe for a child process's output and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... %d lines before", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

func randHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
