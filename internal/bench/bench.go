package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/memory"
	"github.com/tandemhub/tandem/internal/connector/registry"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// Options of one benchmark run.
type Options struct {
	Changes int // changes to push through (creates first, then updates)
	Records int // distinct records
	Batch   int // capture and delivery batch size
	// Rate paces the source at this many changes/s (0: as fast as the
	// hub takes them). Latency means most at a rate the hub sustains.
	Rate   int
	Target string // destination type: postgres (default) or memory
	DSN    string // destination connection string, a database the bench may fill
	Dir    string // data directory for the store (a temp dir when empty)
	Log    *slog.Logger
	// Progress, when set, receives a line a second.
	Progress io.Writer
}

// Result is what a run measured.
type Result struct {
	Changes   int
	Delivered int // writes applied (updates of one record may coalesce)
	Elapsed   time.Duration
	PerSecond float64
	P50, P90  time.Duration
	P99, Max  time.Duration
}

func (r *Result) String() string {
	return fmt.Sprintf("%d changes in %s: %.0f changes/s end to end (%d writes applied); latency p50 %s p90 %s p99 %s max %s",
		r.Changes, r.Elapsed.Round(time.Millisecond), r.PerSecond, r.Delivered,
		r.P50.Round(time.Microsecond), r.P90.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
}

const yamlTemplate = `version: 1
store:
  dir: %q
systems:
  gen:
    type: postgres
    dsn: unused
    batch: %d
    poll: 10ms
  dst:
    type: %s
    dsn: %q
    batch: %d
    poll: 20ms
entities:
  item:
    schema:
      type: object
      properties:
        name: {type: string}
        qty: {type: integer}
        price: {type: number}
        seq: {type: integer}
      required: [name]
mappings:
  gen:
    item:
      table: items
      fields: {name: name, qty: qty, price: price, seq: seq}
  dst:
    item:
      table: bench_items
      key: id
      key_generated: true
      fields:
        name: title
        qty: quantity
        price: price
        seq: seq
routes:
  - entity: item
    from: gen
    to: [dst]
`

// Run pushes opt.Changes changes through a hub and measures them.
func Run(ctx context.Context, opt Options) (*Result, error) {
	opt = opt.withDefaults()
	dir := opt.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "tandem-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	cfg, model, err := configure(dir, opt)
	if err != nil {
		return nil, err
	}
	gen, dst, err := openSystems(ctx, cfg, model, opt)
	if err != nil {
		return nil, err
	}
	emitted := make([]int64, opt.Changes) // unix nanos of each change, by seq
	probe := &probe{System: dst, emitted: emitted, latencies: make([]time.Duration, 0, opt.Changes)}
	h, err := hub.Open(ctx, cfg, opt.Log, hub.Options{Systems: map[string]registry.System{"gen": gen, "dst": probe}})
	if err != nil {
		return nil, err
	}
	defer h.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing after the run
	if err := h.Setup(ctx); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = h.Run(runCtx)
	}()
	select {
	case <-h.Ready():
	case <-ctx.Done():
		stop()
		wg.Wait()
		return nil, ctx.Err()
	}

	elapsed, err := measure(ctx, runCtx, opt, gen, probe, emitted)
	if err != nil {
		return nil, err
	}
	stop()
	wg.Wait()
	if err := checkDrained(ctx, h.Store()); err != nil {
		return nil, err
	}
	return summarize(opt.Changes, elapsed, probe.latencies), nil
}

// withDefaults fills in the options left zero: records, batch size,
// target and log.
func (opt Options) withDefaults() Options {
	if opt.Records <= 0 {
		opt.Records = min(opt.Changes, 100_000)
	}
	if opt.Batch <= 0 {
		opt.Batch = 1000
	}
	if opt.Target == "" {
		opt.Target = "postgres"
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return opt
}

// configure writes the bench's configuration in dir, loads and compiles it.
func configure(dir string, opt Options) (*config.Config, *hub.Model, error) {
	dstType := opt.Target
	if dstType == "memory" {
		dstType = "postgres" // the memory system replaces it in openSystems
		if opt.DSN == "" {
			opt.DSN = "memory"
		}
	}
	path := filepath.Join(dir, "bench.yaml")
	y := fmt.Sprintf(yamlTemplate, filepath.Join(dir, "data"), opt.Batch, dstType, opt.DSN, opt.Batch)
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		return nil, nil, err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, fmt.Errorf("bench config: %w", err)
	}
	model, err := hub.Compile(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, model, nil
}

// openSystems makes the in-memory source and opens the destination: an
// in-memory one, or the database at opt.DSN with the bench's table made.
func openSystems(ctx context.Context, cfg *config.Config, model *hub.Model, opt Options) (*memory.System, registry.System, error) {
	gen := memory.New("gen", model.Tables("gen"))
	var dst registry.System
	if opt.Target == "memory" {
		dst = memory.New("dst", model.Tables("dst"))
	} else {
		if err := createTable(ctx, opt.DSN); err != nil {
			return nil, nil, err
		}
		var err error
		if dst, err = registry.Open(ctx, "dst", cfg.Systems["dst"], model.Tables("dst"), opt.Log); err != nil {
			return nil, nil, err
		}
	}
	return gen, dst, nil
}

// measure starts the source producing into the running hub (its
// production stops with runCtx) and waits until the destination has seen
// the last change, printing progress each second when asked. It returns
// how long that took.
func measure(ctx, runCtx context.Context, opt Options, gen *memory.System, p *probe, emitted []int64) (time.Duration, error) {
	start := time.Now()
	go produce(runCtx, gen, opt, emitted)
	last := int64(opt.Changes - 1)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	nextReport := start.Add(time.Second)
	for !p.seen(last) {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
		if opt.Progress != nil && time.Now().After(nextReport) {
			nextReport = nextReport.Add(time.Second)
			fmt.Fprintf(opt.Progress, "  %5.1fs  applied %d writes, source backlog %d\n",
				time.Since(start).Seconds(), p.count(), gen.Backlog())
		}
	}
	return time.Since(start), nil
}

// produce emits creates then updates, keeping the source backlog bounded
// the way a real system's outbox is drained as it fills.
func produce(ctx context.Context, gen *memory.System, opt Options, emitted []int64) {
	start := time.Now()
	for seq := 0; seq < opt.Changes && ctx.Err() == nil; seq++ {
		for gen.Backlog() > 4*opt.Batch*4 {
			time.Sleep(200 * time.Microsecond)
		}
		if opt.Rate > 0 && seq%100 == 0 {
			due := start.Add(time.Duration(float64(seq) / float64(opt.Rate) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		rec := seq % opt.Records
		f := record.Fields{"name": "item " + strconv.Itoa(rec), "qty": int64(seq % 97), "price": float64(seq%1000) / 10, "seq": int64(seq)}
		atomic.StoreInt64(&emitted[seq], time.Now().UnixNano())
		gen.Put("item", strconv.Itoa(rec), f)
	}
}

// probe wraps the destination and records each write's latency.
type probe struct {
	registry.System
	emitted   []int64
	mu        sync.Mutex
	latencies []time.Duration
	maxSeq    int64
	n         int
}

func (p *probe) Apply(ctx context.Context, entity string, ws []record.Write) ([]record.Result, error) {
	res, err := p.System.Apply(ctx, entity, ws)
	if err != nil {
		return res, err
	}
	now := time.Now().UnixNano()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, w := range ws {
		if res[i].Err != nil {
			continue
		}
		seq, ok := w.Fields["seq"].(int64)
		if !ok || seq < 0 || int(seq) >= len(p.emitted) {
			continue
		}
		p.latencies = append(p.latencies, time.Duration(now-atomic.LoadInt64(&p.emitted[seq])))
		p.maxSeq = max(p.maxSeq, seq)
		p.n++
	}
	return res, nil
}

func (p *probe) seen(seq int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxSeq >= seq
}

func (p *probe) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

var _ connector.Destination = (*probe)(nil)

func summarize(changes int, elapsed time.Duration, lat []time.Duration) *Result {
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	r := &Result{Changes: changes, Delivered: len(lat), Elapsed: elapsed,
		PerSecond: float64(changes) / elapsed.Seconds(), P50: pct(0.50), P90: pct(0.90), P99: pct(0.99)}
	if len(lat) > 0 {
		r.Max = lat[len(lat)-1]
	}
	return r
}

// checkDrained verifies that nothing is left queued or dead.
func checkDrained(ctx context.Context, st store.Store) error {
	return st.View(ctx, func(tx store.Tx) error {
		dead, err := tx.DeadLetters(store.DeadOpen, 10)
		if err != nil {
			return err
		}
		if len(dead) > 0 {
			return fmt.Errorf("bench: %d dead letters, first: %s", len(dead), dead[0].Error)
		}
		return nil
	})
}
