package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
)

// Setup creates tandem's tables and, per table, a capture function and
// an AFTER row trigger calling it, in one transaction. The functions are
// SECURITY DEFINER, so the application's roles need no rights on the
// outbox.
func (d *dialect) Setup(ctx context.Context, db *sql.DB, caps []sqldb.Capture) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	stmts := []string{
		`SELECT pg_advisory_xact_lock(hashtext('tandem setup'))`,
		`CREATE TABLE IF NOT EXISTS ` + d.Outbox() + ` (
			seq bigserial PRIMARY KEY,
			tbl text NOT NULL,
			k   text NOT NULL,
			op  char(1) NOT NULL,
			at  timestamptz NOT NULL DEFAULT now())`,
		`CREATE TABLE IF NOT EXISTS ` + d.IDs() + ` (
			entity text NOT NULL,
			gid    text NOT NULL,
			k      text NOT NULL,
			PRIMARY KEY (entity, gid))`,
		`CREATE INDEX IF NOT EXISTS tandem_ids_k ON ` + d.IDs() + ` (entity, k)`,
		// Apply looks up the outbox rows of the keys it writes.
		`CREATE INDEX IF NOT EXISTS tandem_outbox_k ON ` + d.Outbox() + ` (tbl, k)`,
		// Which columns an update changed (NULL: all, for inserts and deletes).
		`ALTER TABLE ` + d.Outbox() + ` ADD COLUMN IF NOT EXISTS cols text`,
	}
	for _, c := range caps {
		stmts = append(stmts, d.trigger(c).stmts...)
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%w; statement: %s", err, s)
		}
	}
	return tx.Commit()
}

// capture is what Setup installs for one table: a function, named in
// d.schema, whose source is body, and the statements that make it and
// its trigger.
type capture struct {
	fn, body string
	stmts    []string
}

// Installed implements sqldb.Dialect: the function's source is compared
// with what Setup would install, and the trigger must be there, enabled.
func (d *dialect) Installed(ctx context.Context, db *sql.DB, caps []sqldb.Capture) ([]string, error) {
	var problems []string
	for _, c := range caps {
		want := d.trigger(c)
		missing, stale := 0, 0
		var src string
		err := db.QueryRowContext(ctx, `SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = $1 AND p.proname = $2`, d.schema, want.fn).Scan(&src)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			missing++
		case err != nil:
			return nil, err
		case src != want.body:
			stale++
		}
		var on int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_trigger
			WHERE tgrelid = to_regclass($1) AND tgname = 'tandem_capture' AND tgenabled <> 'D'`, d.Quote(c.Table)).Scan(&on); err != nil {
			return nil, err
		}
		if on == 0 {
			missing++
		}
		if p := sqldb.Problem(c.Table, missing, stale); p != "" {
			problems = append(problems, p)
		}
	}
	return problems, nil
}

// literal quotes s as a string literal. Plain text goes between quotes;
// anything else is an escape string, whose backslashes mean the same
// whatever standard_conforming_strings says.
func literal(s string) string {
	if sqldb.Plain(s) {
		return "'" + s + "'"
	}
	return "E'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(s) + "'"
}

// dollarTag returns a dollar-quote tag that body does not contain.
func dollarTag(body string) string {
	tag := "$tandem$"
	for i := 1; strings.Contains(body, tag); i++ {
		tag = fmt.Sprintf("$tandem%d$", i)
	}
	return tag
}

func (d *dialect) trigger(c sqldb.Capture) capture {
	name := sqldb.TriggerName(c.Table)
	fn := sqldb.QuoteIdent(d.schema+"."+name, `"`)
	tbl := literal(c.Table)
	key := d.Quote(c.Key.Name)
	ins := func(row, op string) string {
		cols := "NULL"
		if op == "U" {
			var parts []string
			for _, c := range c.Columns {
				q := d.Quote(c)
				parts = append(parts, `CASE WHEN OLD.`+q+`::text IS DISTINCT FROM NEW.`+q+`::text THEN `+literal(c)+` END`)
			}
			cols = "''"
			if len(parts) > 0 {
				cols = "concat_ws(',', " + strings.Join(parts, ", ") + ")"
			}
		}
		return `INSERT INTO ` + d.Outbox() + ` (tbl, k, op, cols) VALUES (` + tbl + `, ` + d.KeyText(row+"."+key) + `, '` + op + `', ` + cols + `);`
	}
	body := `
BEGIN
	IF current_setting('tandem.origin', true) = 'tandem' THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		` + ins("NEW", "I") + `
	ELSIF TG_OP = 'UPDATE' THEN
		IF OLD.` + key + ` IS DISTINCT FROM NEW.` + key + ` THEN
			` + ins("OLD", "D") + `
		END IF;
		` + ins("NEW", "U") + `
	ELSE
		` + ins("OLD", "D") + `
	END IF;
	RETURN NULL;
END`
	tag := dollarTag(body)
	return capture{fn: name, body: body, stmts: []string{
		`CREATE OR REPLACE FUNCTION ` + fn + `() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
			SET search_path = pg_catalog, pg_temp AS ` + tag + body + tag,
		`DROP TRIGGER IF EXISTS tandem_capture ON ` + d.Quote(c.Table),
		`CREATE TRIGGER tandem_capture AFTER INSERT OR UPDATE OR DELETE ON ` + d.Quote(c.Table) +
			` FOR EACH ROW EXECUTE FUNCTION ` + fn + `()`,
	}}
}
