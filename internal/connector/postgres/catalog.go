package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
)

// Columns reads the columns of table from the catalog. The kind follows
// the base type of domains.
func (d *dialect) Columns(ctx context.Context, db *sql.DB, table string) ([]sqldb.Column, error) {
	const q = `SELECT a.attname, a.atttypid::regtype::text,
		coalesce(nullif(t.typbasetype, 0), a.atttypid)::regtype::text,
		a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = '',
		CASE WHEN a.attidentity <> '' THEN 'nextval(' || quote_literal(pg_get_serial_sequence($1::text, a.attname)) || '::regclass)'
			ELSE coalesce(pg_get_expr(ad.adbin, ad.adrelid), '') END,
		a.attidentity = 'a'
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
		WHERE a.attrelid = to_regclass($1::text) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		ORDER BY a.attnum`
	quoted := sqldb.QuoteIdent(table, `"`)
	rows, err := db.QueryContext(ctx, q, quoted)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sqldb.Column
	for rows.Next() {
		var c sqldb.Column
		var base string
		var kg keygen
		if err := rows.Scan(&c.Name, &c.Type, &base, &c.Required, &kg.expr, &kg.always); err != nil {
			return nil, err
		}
		c.Kind = kind(base)
		out = append(out, c)
		if kg.expr != "" {
			if d.keygens == nil {
				d.keygens = map[[2]string]keygen{}
			}
			d.keygens[[2]string{quoted, c.Name}] = kg
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no such table")
	}
	return out, nil
}

func kind(typ string) sqldb.Kind {
	switch typ {
	case "smallint", "integer", "bigint":
		return sqldb.Int
	case "real", "double precision":
		return sqldb.Float
	case "boolean":
		return sqldb.Bool
	case "timestamp with time zone", "timestamp without time zone", "date":
		return sqldb.Time
	case "text", "character varying", "character", "name", "citext":
		return sqldb.Text
	}
	return sqldb.Other
}
