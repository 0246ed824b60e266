package demo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the demo systems are SQLite files

	"github.com/tandemhub/tandem/internal/admin"
	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/verify"
)

// Options of a demo run.
type Options struct {
	Dir      string        // where the systems and the store live; a temp dir when empty
	Duration time.Duration // how long the generator edits
	Rate     float64       // edits a second in each system
	Seed     uint64
	Out      io.Writer
	Log      *slog.Logger
	// Drain bounds the wait for the hub to catch up once edits stop.
	Drain time.Duration
}

// ErrDisagree is returned when the systems do not agree at the end.
var ErrDisagree = errors.New("the systems do not agree")

// Run runs the demo and returns nil only if all its systems agree.
func Run(ctx context.Context, opt Options) error {
	opt = opt.withDefaults()
	out := opt.Out
	if opt.Dir == "" {
		d, err := os.MkdirTemp("", "tandem-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		opt.Dir = d
	} else if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return fmt.Errorf("demo directory: %w", err)
	}
	dbs := map[string]*sql.DB{}
	defer func() {
		for _, db := range dbs {
			db.Close()
		}
	}()
	files, err := createSystems(ctx, opt.Dir, dbs)
	if err != nil {
		return err
	}
	if err := seed(ctx, dbs); err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	crmsim, crmsimURL, stopCRM, err := startCRM(ctx)
	if err != nil {
		return fmt.Errorf("start the CRM simulator: %w", err)
	}
	defer stopCRM()
	cfg, cfgPath, err := writeConfig(opt.Dir, files, crmsimURL)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "tandem demo in %s\n  systems: catalogue, crm, accounting (SQLite, each with its own tables and IDs)\n"+
		"           crmsim (a simulated CRM behind a REST API: its own IDs, 150 requests/s then 429, 1%% 500s)\n  config:  %s\n", opt.Dir, cfgPath)
	h, err := hub.Open(ctx, cfg, opt.Log, hub.Options{})
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing at the end
	if err := h.Setup(ctx); err != nil {
		return err
	}
	runCtx, stopHub := context.WithCancel(ctx)
	defer stopHub()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = h.Run(runCtx)
	}()
	select {
	case <-h.Ready():
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Fprintf(out, "initial sync done; editing all four systems for %s at %.0f edits/s each\n", opt.Duration, opt.Rate)

	apps := []*app{catalogueApp(dbs["catalogue"], opt.Seed), crmApp(dbs["crm"], opt.Seed), accountingApp(dbs["accounting"], opt.Seed)}
	simUsers := newSimApp(crmsim, opt.Seed)
	start := edit(ctx, opt, h, apps, simUsers)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Fprintln(out, "edits stopped; waiting for tandem to drain")
	if err := drain(ctx, h, opt.Drain); err != nil {
		return err
	}
	progress(ctx, out, h, apps, time.Since(start), &simUsers.edits)
	stopHub()
	wg.Wait()
	return compare(ctx, out, cfg, h)
}

// withDefaults fills in the options left zero: the rate, the drain bound
// and the log.
func (opt Options) withDefaults() Options {
	if opt.Rate <= 0 {
		opt.Rate = 20
	}
	if opt.Drain <= 0 {
		opt.Drain = 2 * time.Minute
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return opt
}

// createSystems makes the three SQLite systems in dir and opens them into
// dbs (which the caller closes, even on error). It returns their files.
func createSystems(ctx context.Context, dir string, dbs map[string]*sql.DB) (map[string]string, error) {
	files := map[string]string{}
	for name, ddl := range map[string]string{"catalogue": catalogueDDL, "crm": crmDDL, "accounting": accountingDDL} {
		files[name] = filepath.Join(dir, name+".db")
		db, err := openApp(ctx, files[name], ddl)
		if err != nil {
			return nil, fmt.Errorf("create demo system %s: %w", name, err)
		}
		dbs[name] = db
	}
	return files, nil
}

// writeConfig writes the demo's tandem.yaml in dir, for the systems' files
// and the CRM simulator at crmsimURL, and loads it. It returns the
// configuration and its path.
func writeConfig(dir string, files map[string]string, crmsimURL string) (*config.Config, string, error) {
	cfgPath := filepath.Join(dir, "tandem.yaml")
	y := fmt.Sprintf(configYAML, filepath.Join(dir, "store"), files["catalogue"], files["crm"], files["accounting"], crmsimURL)
	if err := os.WriteFile(cfgPath, []byte(y), 0o644); err != nil {
		return nil, "", err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, "", err
	}
	return cfg, cfgPath, nil
}

// edit has the users of every system edit for opt.Duration (or until ctx
// ends), printing progress every second, and returns when they started.
func edit(ctx context.Context, opt Options, h *hub.Hub, apps []*app, simUsers *simApp) time.Time {
	genCtx, stopGen := context.WithTimeout(ctx, opt.Duration)
	var gw sync.WaitGroup
	gw.Add(1)
	go func() {
		defer gw.Done()
		simUsers.run(genCtx, opt.Rate)
	}()
	for _, a := range apps {
		gw.Add(1)
		go func() {
			defer gw.Done()
			a.run(genCtx, opt.Rate)
		}()
	}
	start := time.Now()
	tick := time.NewTicker(time.Second)
	for genCtx.Err() == nil {
		select {
		case <-genCtx.Done():
		case <-tick.C:
			progress(ctx, opt.Out, h, apps, time.Since(start), &simUsers.edits)
		}
	}
	tick.Stop()
	stopGen()
	gw.Wait()
	return start
}

func openApp(ctx context.Context, path, ddl string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// seed puts records in place before tandem starts, including one account
// present in two systems already (same email), which tandem must match
// rather than copy twice.
func seed(ctx context.Context, dbs map[string]*sql.DB) error {
	stmts := map[string][]string{
		"catalogue": {
			`INSERT INTO accounts (name, email, country) VALUES ('Acme Ltd', 'billing@acme.example', 'GB'), ('Globex Inc', 'ap@globex.example', 'US')`,
			`INSERT INTO contacts (name, email, account_id) VALUES ('Ada Lovelace', 'ada@acme.example', 1), ('Hank Scorpio', 'hank@globex.example', 2)`,
			`INSERT INTO products (sku, title, price) VALUES ('CAB-0001', 'Oak cabinet', 499.00), ('LMP-0042', 'Desk lamp', 39.95)`,
		},
		"accounting": {
			`INSERT INTO customers (cust_name, mail, country) VALUES ('ACME Limited', 'billing@acme.example', 'GB')`,
		},
		"crm": {
			`INSERT INTO Account (Id, Name, Email__c, BillingCountry) VALUES ('001A000000seed1', 'Initech', 'info@initech.example', 'United States')`,
			`INSERT INTO Contact (Id, LastName, Email, AccountId) VALUES ('003A000000seed1', 'Peter Gibbons', 'peter@initech.example', '001A000000seed1')`,
		},
	}
	for name, qs := range stmts {
		for _, q := range qs {
			if _, err := dbs[name].ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}

func totals(ctx context.Context, h *hub.Hub) (captured, delivered, pending, dead int64, err error) {
	rows, err := admin.Status(ctx, h.Store(), time.Now())
	for _, r := range rows {
		captured += r.Captured
		delivered += r.Delivered
		pending += r.Pending
		dead += r.Dead
	}
	return captured, delivered, pending, dead, err
}

func progress(ctx context.Context, out io.Writer, h *hub.Hub, apps []*app, since time.Duration, more ...*atomic.Int64) {
	c, d, p, dead, err := totals(ctx, h)
	if err != nil {
		return
	}
	var edits int64
	for _, a := range apps {
		edits += a.edits.Load()
	}
	for _, m := range more {
		edits += m.Load()
	}
	fmt.Fprintf(out, "  %5.1fs  edits %6d  captured %6d  delivered %6d  pending %5d  dead %d\n",
		since.Seconds(), edits, c, d, p, dead)
}

// drain waits until nothing is pending, held or newly captured for a while.
func drain(ctx context.Context, h *hub.Hub, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last int64 = -1
	quiet := 0
	for quiet < 6 {
		if time.Now().After(deadline) {
			return fmt.Errorf("tandem did not drain within %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		c, _, p, _, err := totals(ctx, h)
		if err != nil {
			return err
		}
		if p == 0 && c == last && len(h.Held()) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		last = c
	}
	return nil
}

func compare(ctx context.Context, out io.Writer, cfg *config.Config, h *hub.Hub) error {
	diffs, err := verify.Compare(ctx, cfg, h.Model().Maps, h.Store(), h.Sources())
	if err != nil {
		return err
	}
	dead, err := admin.DeadLetters(ctx, h.Store(), "open", 20)
	if err != nil {
		return err
	}
	if len(dead) > 0 {
		fmt.Fprintf(out, "%d dead letters:\n", len(dead))
		_ = admin.WriteDeadLetters(out, dead)
	}
	if len(diffs) > 0 {
		fmt.Fprintf(out, "DISAGREE: %d differences\n%s", len(diffs), verify.Summary(diffs, 40))
		return ErrDisagree
	}
	counts, err := verify.Count(ctx, cfg, h.Model().Maps, h.Sources())
	if err != nil {
		return err
	}
	// The three databases on one line, the CRM reached through its API on the next.
	api := map[string]int{}
	for ent, per := range counts {
		if n, ok := per["crmsim"]; ok {
			api[ent] = n
			delete(per, "crmsim")
		}
	}
	fmt.Fprintf(out, "AGREE: the three databases hold the same records, field by field: %s\n", counts)
	fmt.Fprintf(out, "  and so does crmsim, the CRM reached only through its REST API: account %d, contact %d\n",
		api["account"], api["contact"])
	return nil
}
