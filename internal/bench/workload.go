package bench

// The pg-to-pg workload: a table of Rows rows in one PostgreSQL database
// is copied into another by `tandem run` (the binary, as a user runs
// it), then Updates UPDATEs on the source, PerTx to a transaction, are
// followed into the destination. Each phase ends when the destination's
// checksum equals the source's, so a fast wrong answer never passes.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// WorkloadOptions configure a run of the pg-to-pg workload.
type WorkloadOptions struct {
	// Server is the PostgreSQL server the workload's databases are made on.
	Server string
	// Tandem is the tandem binary to run.
	Tandem string
	// Dir is where the config and the store go (a temporary directory when empty).
	Dir string
	// Rows is the size of the table copied first. Default 200,000.
	Rows int
	// Updates is how many rows are updated after the copy, PerTx to a
	// transaction (defaults 100,000 and 1,000).
	Updates, PerTx int
	// Rate, when set, paces the followed UPDATEs at this many a second
	// (the source cost is timed flat out all the same).
	Rate int
	// Batch is the systems' batch size in the config. Default 1,000.
	Batch int
	// TwoWay routes the entity both ways, so that the destination is
	// captured too and every write there is an echo to recognise.
	TwoWay bool
	// Timeout bounds each phase. Default 10 minutes.
	Timeout time.Duration
	// Progress, when set, gets a line per phase.
	Progress io.Writer
	// MariaDB, when set, is a MariaDB server (a DSN such as
	// root@tcp(127.0.0.1:3306)/) on which the three-system variant makes
	// a third database that receives what the destination does.
	MariaDB string
	// CPUProfile, when set, is where the hub writes a CPU profile of its
	// whole run (tandem run --cpuprofile).
	CPUProfile string
	// MemProfile, when set, is where the hub writes a heap profile as it
	// stops (tandem run --memprofile).
	MemProfile string
}

// WorkloadResult is what a run of the workload measured.
type WorkloadResult struct {
	Rows, Updates int
	// Rate is the pace of the UPDATEs a second (0: flat out), PerTx how
	// many went to a transaction.
	Rate, PerTx int
	// MariaDB says a MariaDB database was a third system.
	MariaDB bool
	TwoWay  bool
	// Snapshot runs from the start of tandem run to the destination
	// matching the source; FirstRow to the first row there.
	Snapshot, FirstRow time.Duration
	// CDC runs from the first UPDATE to the destination matching.
	CDC time.Duration
	// SnapshotCPU and CDCCPU are the hub's CPU time (user and system) in each phase.
	SnapshotCPU, CDCCPU time.Duration
	// MaxRSS is the hub's peak resident memory, in bytes.
	MaxRSS int64
	// P50 and P99 are the delays from a row's UPDATE on the source to its
	// write on the destination (clock_timestamp on both sides).
	P50, P99 time.Duration
	// SourcePlain and SourceCaptured are how long the same UPDATEs took
	// on a table without capture and on the captured table.
	SourcePlain, SourceCaptured time.Duration
}

func (o WorkloadOptions) withDefaults() WorkloadOptions {
	if o.Rows <= 0 {
		o.Rows = 200_000
	}
	if o.Updates <= 0 {
		o.Updates = 100_000
	}
	if o.PerTx <= 0 {
		o.PerTx = 1_000
	}
	if o.Batch <= 0 {
		o.Batch = 1_000
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	return o
}

// RunWorkload runs the pg-to-pg workload in two fresh databases on
// opt.Server, dropped afterwards.
func RunWorkload(ctx context.Context, opt WorkloadOptions) (res *WorkloadResult, err error) {
	opt = opt.withDefaults()
	if opt.Tandem == "" {
		if opt.Tandem, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	if opt.Dir == "" {
		dir, err := os.MkdirTemp("", "tandem-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		opt.Dir = dir
	}
	srcDSN, dropSrc, err := TempDatabase(ctx, opt.Server)
	if err != nil {
		return nil, err
	}
	defer dropSrc()
	dstDSN, dropDst, err := TempDatabase(ctx, opt.Server)
	if err != nil {
		return nil, err
	}
	defer dropDst()
	w, err := newWorkload(ctx, opt, srcDSN, dstDSN)
	if err != nil {
		return nil, err
	}
	defer w.close()
	if opt.MariaDB != "" {
		dsn, drop, err := tempMariaDB(ctx, opt.MariaDB)
		if err != nil {
			return nil, err
		}
		defer drop()
		if w.maria, err = sql.Open("mysql", dsn); err != nil {
			return nil, err
		}
		w.mariaDSN = dsn
	}
	return w.run(ctx)
}

// run prepares the tables, runs the hub through both phases and stops it.
func (w *workload) run(ctx context.Context) (*WorkloadResult, error) {
	res := &WorkloadResult{Rows: w.opt.Rows, Updates: w.opt.Updates, TwoWay: w.opt.TwoWay, Rate: w.opt.Rate, PerTx: w.opt.PerTx,
		MariaDB: w.maria != nil}
	if err := w.prepare(ctx); err != nil {
		return nil, err
	}
	w.say("source: %d rows; timing %d UPDATEs on tables with and without capture", w.opt.Rows, w.opt.Updates)
	if err := w.sourceCost(ctx, res); err != nil {
		return nil, fmt.Errorf("source cost: %w", err)
	}
	var err error
	cfgPath := filepath.Join(w.opt.Dir, "tandem.yaml")
	if err := os.WriteFile(cfgPath, []byte(w.config()), 0o600); err != nil {
		return nil, err
	}
	// What the copy must reach, read before the hub starts: the source
	// does not change during the copy, and reading it after would delay
	// the first look at the destination.
	want, err := checksum(ctx, w.src, "items")
	if err != nil {
		return nil, err
	}
	want3, err := w.wantMaria(ctx)
	if err != nil {
		return nil, err
	}
	var args []string
	if w.opt.CPUProfile != "" {
		args = append(args, "--cpuprofile", w.opt.CPUProfile)
	}
	if w.opt.MemProfile != "" {
		args = append(args, "--memprofile", w.opt.MemProfile)
	}
	hub, err := startHub(w.opt.Tandem, cfgPath, filepath.Join(w.opt.Dir, "tandem.log"), args...)
	if err != nil {
		return nil, err
	}
	defer hub.kill()
	w.say("tandem run started; waiting for the copy of %d rows", w.opt.Rows)
	if err := w.snapshot(ctx, hub, res, want, want3); err != nil {
		return nil, errors.Join(err, hub.tail())
	}
	w.say("copied in %s; %d UPDATEs, %d to a transaction", res.Snapshot.Round(time.Millisecond), w.opt.Updates, w.opt.PerTx)
	if err := w.cdc(ctx, hub, res); err != nil {
		return nil, errors.Join(err, hub.tail())
	}
	if res.P50, res.P99, err = w.latency(ctx); err != nil {
		return nil, err
	}
	rss, err := hub.stop()
	if err != nil {
		return nil, errors.Join(err, hub.tail())
	}
	res.MaxRSS = rss
	return res, nil
}

// snapshot waits for the copy to match the source (want, and want3 in
// MariaDB when there is one).
func (w *workload) snapshot(ctx context.Context, hub *hubProc, res *WorkloadResult, want, want3 sum) error {
	cpu0, _ := hub.cpu()
	first := false
	err := w.until(ctx, func() (bool, error) {
		got, err := checksum(ctx, w.dst, "items")
		if err != nil {
			return false, err
		}
		if !first && got.rows > 0 {
			first, res.FirstRow = true, time.Since(hub.started)
		}
		if got != want {
			return false, hub.exited()
		}
		ok, err := w.mariaMatches(ctx, want3)
		return ok, errors.Join(err, hub.exited())
	})
	res.Snapshot = time.Since(hub.started)
	cpu1, _ := hub.cpu()
	res.SnapshotCPU = cpu1 - cpu0
	if err != nil {
		return fmt.Errorf("copy of the source: %w", err)
	}
	return nil
}

// cdc updates the source and waits for the destination to match.
func (w *workload) cdc(ctx context.Context, hub *hubProc, res *WorkloadResult) error {
	cpu0, _ := hub.cpu()
	start := time.Now()
	if _, err := w.update(ctx, w.src, "items", w.opt.Rate); err != nil {
		return err
	}
	want, err := checksum(ctx, w.src, "items")
	if err != nil {
		return err
	}
	want3, err := w.wantMaria(ctx)
	if err != nil {
		return err
	}
	err = w.until(ctx, func() (bool, error) {
		got, err := checksum(ctx, w.dst, "items")
		if err != nil || got != want {
			return false, errors.Join(err, hub.exited())
		}
		ok, err := w.mariaMatches(ctx, want3)
		return ok, errors.Join(err, hub.exited())
	})
	res.CDC = time.Since(start)
	cpu1, _ := hub.cpu()
	res.CDCCPU = cpu1 - cpu0
	if err != nil {
		return fmt.Errorf("changes after the copy: %w", err)
	}
	return nil
}

// until polls done every 20ms until it is true, fails, or the phase times out.
func (w *workload) until(ctx context.Context, done func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, w.opt.Timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the destination did not match the source within %s", w.opt.Timeout)
		case <-t.C:
		}
	}
}

func (w *workload) say(format string, args ...any) {
	if w.opt.Progress != nil {
		fmt.Fprintf(w.opt.Progress, time.Now().Format("15:04:05.000")+"  "+format+"\n", args...)
	}
}

// String prints the figures, one per line.
func (r *WorkloadResult) String() string {
	rate := func(n int, d time.Duration) float64 { return float64(n) / max(d.Seconds(), 1e-9) }
	ways := "one-way"
	if r.TwoWay {
		ways = "two-way"
	}
	ratio := float64(r.SourceCaptured) / max(float64(r.SourcePlain), 1)
	pace := "flat out"
	if r.Rate > 0 {
		pace = fmt.Sprintf("paced at %d/s", r.Rate)
	}
	name := "pg-to-pg"
	if r.MariaDB {
		name = "pg-to-pg-and-mariadb"
	}
	return fmt.Sprintf("%s %s: %d rows, then %d updates %s, %d to a transaction\n"+
		"  snapshot   %8.0f rows/s     (%s, first row after %s, CPU %s)\n"+
		"  cdc        %8.0f changes/s  (%s, CPU %s, %.0f µs CPU per change)\n"+
		"  latency    p50 %s  p99 %s   (source UPDATE to destination write)\n"+
		"  max RSS    %d MB\n"+
		"  source     %s for the UPDATEs without capture, %s with it (%.2fx)",
		name, ways, r.Rows, r.Updates, pace, r.PerTx,
		rate(r.Rows, r.Snapshot), r.Snapshot.Round(time.Millisecond), r.FirstRow.Round(time.Millisecond), r.SnapshotCPU.Round(time.Millisecond),
		rate(r.Updates, r.CDC), r.CDC.Round(time.Millisecond), r.CDCCPU.Round(time.Millisecond), float64(r.CDCCPU.Microseconds())/float64(max(r.Updates, 1)),
		r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond),
		r.MaxRSS>>20,
		r.SourcePlain.Round(time.Millisecond), r.SourceCaptured.Round(time.Millisecond), ratio)
}
