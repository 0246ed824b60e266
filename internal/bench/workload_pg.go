package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// workload is one run of the pg-to-pg workload: its options and its
// connections to the source and destination databases.
type workload struct {
	opt            WorkloadOptions
	srcDSN, dstDSN string
	src, dst       *pgxpool.Pool
	// mariaDSN and maria are the third system's database, in the
	// three-system variant; empty and nil otherwise.
	mariaDSN string
	maria    *sql.DB
}

func newWorkload(ctx context.Context, opt WorkloadOptions, srcDSN, dstDSN string) (*workload, error) {
	src, err := pgxpool.New(ctx, srcDSN)
	if err != nil {
		return nil, err
	}
	dst, err := pgxpool.New(ctx, dstDSN)
	if err != nil {
		src.Close()
		return nil, err
	}
	return &workload{opt: opt, srcDSN: srcDSN, dstDSN: dstDSN, src: src, dst: dst}, nil
}

func (w *workload) close() {
	w.src.Close()
	w.dst.Close()
	if w.maria != nil {
		w.maria.Close()
	}
}

// microsNow is a row's clock in SQL: microseconds since the epoch, when
// the statement writes the row.
const microsNow = `(extract(epoch from clock_timestamp()) * 1000000)::bigint`

// prepare makes the tables: the source's filled, the destination's
// empty, with a trigger that notes when each row was written there.
func (w *workload) prepare(ctx context.Context) error {
	if err := fill(ctx, w.src, "items", w.opt.Rows); err != nil {
		return fmt.Errorf("source table: %w", err)
	}
	_, err := w.dst.Exec(ctx, `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL,
		qty integer NOT NULL, stamp bigint, arrived bigint);
	CREATE FUNCTION arrived() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN NEW.arrived := `+microsNow+`; RETURN NEW; END $$;
	CREATE TRIGGER arrived BEFORE INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION arrived()`)
	if err != nil {
		return fmt.Errorf("destination table: %w", err)
	}
	if w.maria != nil {
		return w.prepareMaria(ctx)
	}
	return nil
}

// fill makes table with rows rows.
func fill(ctx context.Context, db *pgxpool.Pool, table string, rows int) error {
	_, err := db.Exec(ctx, fmt.Sprintf(`CREATE TABLE %[1]s (id bigint PRIMARY KEY, name text NOT NULL,
		qty integer NOT NULL, stamp bigint);
	INSERT INTO %[1]s (id, name, qty) SELECT i, 'item ' || i, i %% 100 FROM generate_series(1, %[2]d) AS i;
	ANALYZE %[1]s`, pgx.Identifier{table}.Sanitize(), rows))
	return err
}

// update runs the workload's UPDATEs on table, PerTx to a transaction,
// each statement one row (rows in id order, from the first), and returns
// how long they took. With rate set (a second), a transaction starts no
// sooner than the rate allows.
func (w *workload) update(ctx context.Context, db *pgxpool.Pool, table string, rate int) (time.Duration, error) {
	q := fmt.Sprintf(`UPDATE %s SET qty = qty + 1, stamp = %s WHERE id = $1`, pgx.Identifier{table}.Sanitize(), microsNow)
	start := time.Now()
	for done := 0; done < w.opt.Updates; {
		if rate > 0 {
			due := start.Add(time.Duration(done) * time.Second / time.Duration(rate))
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			}
		}
		n := min(w.opt.PerTx, w.opt.Updates-done)
		b := &pgx.Batch{}
		for i := range n {
			b.Queue(q, int64((done+i)%w.opt.Rows)+1)
		}
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
		if err != nil {
			return 0, fmt.Errorf("update %s: %w", table, err)
		}
		done += n
	}
	return time.Since(start), nil
}

// sum is a table's row count and a checksum of its synced columns.
type sum struct{ rows, hash int64 }

func checksum(ctx context.Context, db *pgxpool.Pool, table string) (sum, error) {
	var s sum
	err := db.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), coalesce(sum(hashtext(id || ':' || name || ':' || qty || ':' || coalesce(stamp, 0))), 0) FROM %s`,
		pgx.Identifier{table}.Sanitize())).Scan(&s.rows, &s.hash)
	return s, err
}

// latency is the median and 99th percentile of the delay from a row's
// UPDATE on the source to its write on the destination.
func (w *workload) latency(ctx context.Context) (p50, p99 time.Duration, err error) {
	var a, b *float64
	err = w.dst.QueryRow(ctx, `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY arrived - stamp),
		percentile_cont(0.99) WITHIN GROUP (ORDER BY arrived - stamp) FROM items WHERE stamp IS NOT NULL`).Scan(&a, &b)
	if err != nil || a == nil || b == nil {
		return 0, 0, err
	}
	return time.Duration(*a) * time.Microsecond, time.Duration(*b) * time.Microsecond, nil
}

// config is the tandem.yaml of the run.
func (w *workload) config() string {
	route := "from: src, to: [dst]"
	if w.opt.TwoWay {
		route = "between: [src, dst]"
	}
	maria, mariaMap := "", ""
	if w.mariaDSN != "" {
		route = "from: src, to: [dst, maria]"
		if w.opt.TwoWay {
			route = "between: [src, dst, maria]"
		}
		maria = fmt.Sprintf("  maria: {type: mysql, dsn: %q, batch: %d}\n", w.mariaDSN, w.opt.Batch)
		mariaMap = "  maria:\n    item: {table: items, key: id, fields: {id: id, name: name, qty: qty, stamp: stamp}}\n"
	}
	return fmt.Sprintf(`version: 1
store:
  dir: ./store
systems:
  src: {type: postgres, dsn: %q, batch: %d}
  dst: {type: postgres, dsn: %q, batch: %d}
%sentities:
  item:
    schema:
      type: object
      properties:
        id: {type: integer}
        name: {type: string}
        qty: {type: integer}
        stamp: {type: [integer, "null"]}
      required: [id, name, qty]
mappings:
  src:
    item: {table: items, key: id, fields: {id: id, name: name, qty: qty, stamp: stamp}}
  dst:
    item: {table: items, key: id, fields: {id: id, name: name, qty: qty, stamp: stamp}}
%sroutes:
  - {entity: item, %s}
`, w.srcDSN, w.opt.Batch, w.dstDSN, w.opt.Batch, maria, mariaMap, route)
}

// sourceCost times the workload's UPDATEs on a table that tandem
// captures and on one it does not, in a database of their own with no
// hub running, so that the difference is capture's alone.
func (w *workload) sourceCost(ctx context.Context, res *WorkloadResult) error {
	dsn, drop, err := TempDatabase(ctx, w.opt.Server)
	if err != nil {
		return err
	}
	defer drop()
	db, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, t := range []string{"items", "items_plain"} {
		if err := fill(ctx, db, t, w.opt.Rows); err != nil {
			return err
		}
	}
	dir := filepath.Join(w.opt.Dir, "probe")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cfg := filepath.Join(dir, "tandem.yaml")
	probe := workload{opt: w.opt, srcDSN: dsn, dstDSN: w.dstDSN} // no third system
	probe.opt.TwoWay = false
	if err := os.WriteFile(cfg, []byte(probe.config()), 0o600); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, w.opt.Tandem, "setup", "-c", cfg).CombinedOutput(); err != nil {
		return fmt.Errorf("tandem setup: %w\n%s", err, out)
	}
	if res.SourcePlain, err = w.update(ctx, db, "items_plain", 0); err != nil {
		return err
	}
	res.SourceCaptured, err = w.update(ctx, db, "items", 0)
	return err
}
