package torture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options of a run.
type Options struct {
	Seed     uint64
	Duration time.Duration // how long the writers write
	Writers  int
	Rate     float64 // user actions a second, all writers together
	// Faults names the kinds of fault to inject: kill, cut, slow, api, lose-dir.
	Faults []string
	// Dir is the work directory (systems' files, tandem.yaml, the store,
	// logs); a new temporary one when empty. It is kept when the run fails.
	Dir string
	// Tandem is the tandem binary to run.
	Tandem string
	// JSONServer is json-server's binary; Postgres and MySQL are DSNs of
	// users who may create databases.
	JSONServer, Postgres, MySQL string
	// Broker is the queue system's broker, rabbitmq (the default) or
	// nats; RabbitMQ and NATS are their URLs.
	Broker, RabbitMQ, NATS string
	// Converge bounds the wait for the systems to agree once edits stop.
	Converge time.Duration
	// HubLog is the log level of the hub (info when empty).
	HubLog string
	// Systems names the systems to build (pg, maria, lite, shop, crm, mq); all when empty.
	Systems []string
	Out     io.Writer
}

// SystemNames are every system a run can build, the default.
var SystemNames = []string{"pg", "maria", "lite", "shop", "crm", "mq"}

// FaultKinds are every kind of fault, the default.
var FaultKinds = []string{"kill", "cut", "slow", "api", "lose-dir"}

// Report is the outcome of a run.
type Report struct {
	Seed        uint64         `json:"seed"`
	Counts      Counts         `json:"counts"`
	Problems    []string       `json:"problems,omitempty"`
	Faults      map[string]int `json:"faults"`
	Creates     int            `json:"creates"`
	Updates     int            `json:"updates"`
	Deletes     int            `json:"deletes"`
	Convergence time.Duration  `json:"convergence_ns"`
	Dir         string         `json:"dir"`
}

// ErrFailed is returned when any count is not zero.
var ErrFailed = errors.New("torture found problems")

type run struct {
	opt     Options
	out     io.Writer
	rng     *rand.Rand
	systems []*system
	apps    []App
	names   []string
	hub     *hubProc
	cfg     string
	data    string
	ledger  *ledger
	gate    gate
	appErrs atomic.Int64
	errMu   sync.Mutex
	errs    []string
	faultMu sync.Mutex
	faults  map[string]int
	// problems found while running (a data directory that could not be
	// lost because the systems never agreed).
	problems []string
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.out, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// Run builds the systems, runs the workload and the faults, waits for
// convergence and counts. It returns ErrFailed when any count is not zero.
func Run(ctx context.Context, opt Options) (*Report, error) {
	if opt.Writers <= 0 {
		opt.Writers = 4
	}
	if opt.Rate <= 0 {
		opt.Rate = 30
	}
	if opt.Converge <= 0 {
		opt.Converge = 3 * time.Minute
	}
	if opt.Faults == nil {
		opt.Faults = FaultKinds
	}
	for _, f := range opt.Faults {
		if !slices.Contains(FaultKinds, f) {
			return nil, fmt.Errorf("unknown fault %q; known: %s", f, strings.Join(FaultKinds, ", "))
		}
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	switch opt.Broker {
	case "":
		opt.Broker = "rabbitmq"
	case "rabbitmq", "nats":
	default:
		return nil, fmt.Errorf("unknown broker %q; known: rabbitmq, nats", opt.Broker)
	}
	if opt.RabbitMQ == "" {
		opt.RabbitMQ = "amqp://guest:guest@127.0.0.1:5672/"
	}
	if opt.NATS == "" {
		opt.NATS = "nats://127.0.0.1:4222"
	}
	keep := opt.Dir != ""
	if opt.Dir == "" {
		d, err := os.MkdirTemp("", "tandem-torture-")
		if err != nil {
			return nil, err
		}
		opt.Dir = d
	} else if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, err
	}
	r := &run{opt: opt, out: opt.Out, rng: rand.New(rand.NewPCG(opt.Seed, 0x70727475)), ledger: newLedger(), faults: map[string]int{}}
	rep := &Report{Seed: opt.Seed, Faults: r.faults, Dir: opt.Dir}
	defer func() {
		for _, s := range r.systems {
			s.close()
		}
		if !keep && rep.Counts.Zero() && len(rep.Problems) == 0 {
			os.RemoveAll(opt.Dir)
		}
	}()
	if err := r.build(ctx); err != nil {
		return rep, err
	}
	defer r.hub.close()
	err := r.exercise(ctx, rep)
	if err == nil && (!rep.Counts.Zero() || len(rep.Problems) > 0) {
		err = ErrFailed
	}
	return rep, err
}

// build makes the systems, writes tandem.yaml, checks and sets it up.
func (r *run) build(ctx context.Context) error {
	r.logf("seed %d; work directory %s", r.opt.Seed, r.opt.Dir)
	makers := map[string]func() (*system, error){
		"pg":    func() (*system, error) { return postgresSystem(ctx, r.opt.Postgres) },
		"maria": func() (*system, error) { return mysqlSystem(ctx, r.opt.MySQL) },
		"lite":  func() (*system, error) { return sqliteSystem(ctx, r.opt.Dir) },
		"shop":  func() (*system, error) { return jsonServerSystem(ctx, r.opt.JSONServer, r.opt.Dir) },
		"crm":   func() (*system, error) { return crmSystem(ctx, r.opt.Tandem, r.opt.Dir) },
		"mq": func() (*system, error) {
			if r.opt.Broker == "nats" {
				return queueSystem(ctx, r.opt.Dir, "nats", r.opt.NATS)
			}
			return queueSystem(ctx, r.opt.Dir, "rabbitmq", r.opt.RabbitMQ)
		},
	}
	want := r.opt.Systems
	if len(want) == 0 {
		want = SystemNames
	}
	for _, name := range want {
		mk, ok := makers[name]
		if !ok {
			return fmt.Errorf("unknown system %q; known: %s", name, strings.Join(SystemNames, ", "))
		}
		s, err := mk()
		if err != nil {
			return err
		}
		r.systems = append(r.systems, s)
		r.apps = append(r.apps, s.app)
		r.names = append(r.names, s.name)
	}
	r.data = filepath.Join(r.opt.Dir, "data")
	r.cfg = filepath.Join(r.opt.Dir, "tandem.yaml")
	if err := os.WriteFile(r.cfg, []byte(config(r.data, r.systems)), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{{"check"}, {"setup"}} {
		cmd := exec.CommandContext(ctx, r.opt.Tandem, append(args, "-c", r.cfg)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("tandem %s: %w\n%s", args[0], err, out)
		}
	}
	var err error
	r.hub, err = newHubProc(r.opt.Tandem, r.cfg, r.opt.Dir, filepath.Join(r.opt.Dir, "tandem.log"), r.opt.HubLog)
	if err != nil {
		return err
	}
	r.logf("systems: %s; tandem.yaml: %s; hub log: %s", strings.Join(r.names, ", "), r.cfg, r.hub.log.Name())
	return r.hub.start()
}

// exercise runs writers and faults, then waits and counts.
func (r *run) exercise(ctx context.Context, rep *Report) error {
	wctx, stopWriters := context.WithTimeout(ctx, r.opt.Duration)
	defer stopWriters()
	var wg sync.WaitGroup
	for i := range r.opt.Writers {
		w := &writer{id: i + 1, seed: r.opt.Seed, rng: rand.New(rand.NewPCG(r.opt.Seed, uint64(i+1))), apps: r.apps,
			ledger: r.ledger, gate: &r.gate, accounts: map[string]State{}, contacts: map[string]State{},
			errors: &r.appErrs, errLog: r.appError, maxAccounts: 60}
		wg.Add(1)
		go func() { defer wg.Done(); w.run(wctx, r.opt.Rate/float64(r.opt.Writers)) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); r.inject(wctx) }()
	start := time.Now()
	tick := time.NewTicker(10 * time.Second)
	for wctx.Err() == nil {
		select {
		case <-wctx.Done():
		case <-tick.C:
			c, u, d := r.ledger.count()
			r.logf("%s: %d creates, %d updates, %d deletes; faults %v", time.Since(start).Round(time.Second), c, u, d, r.faultSummary())
		}
	}
	tick.Stop()
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.heal()
	if err := r.hub.start(); err != nil {
		return err
	}
	rep.Creates, rep.Updates, rep.Deletes = r.ledger.count()
	r.logf("edits stopped after %d creates, %d updates, %d deletes; faults healed; waiting for the systems to agree",
		rep.Creates, rep.Updates, rep.Deletes)
	c, problems, took, err := r.converge(ctx, r.opt.Converge, true)
	if err != nil {
		return err
	}
	r.errMu.Lock()
	problems = append(problems, r.errs...)
	r.errMu.Unlock()
	problems = append(problems, r.problems...)
	r.hub.mu.Lock()
	c.HubExits = r.hub.exits
	problems = append(problems, r.hub.exitErrs...)
	r.hub.mu.Unlock()
	c.AppErrors = int(r.appErrs.Load())
	if c.Zero() && len(problems) == 0 {
		// What an operator sees must say so too: with everything in
		// step, `tandem status` reports the hub healthy.
		cmd := exec.CommandContext(ctx, r.opt.Tandem, "status", "-c", r.cfg)
		if out, err := cmd.CombinedOutput(); err != nil {
			problems = append(problems, fmt.Sprintf("the systems agree, yet tandem status says otherwise (%v):\n%s", err, out))
		}
	}
	rep.Counts, rep.Problems, rep.Convergence = c, problems, took
	if err := r.ledger.dump(filepath.Join(r.opt.Dir, "ledger.jsonl")); err != nil {
		r.logf("write the ledger: %v", err)
	}
	return nil
}

func (r *run) appError(s string) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if len(r.errs) < 200 {
		r.errs = append(r.errs, s)
	}
}
