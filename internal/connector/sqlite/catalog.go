package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
)

// Columns reads the declared columns of table.
func (dialect) Columns(ctx context.Context, db *sql.DB, table string) ([]sqldb.Column, error) {
	const cols = `SELECT name, type, "notnull", dflt_value IS NOT NULL, pk FROM `
	q, args := cols+"pragma_table_info(?)", []any{table}
	if schema, name, ok := strings.Cut(table, "."); ok {
		q, args = cols+"pragma_table_info(?, ?)", []any{name, schema}
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sqldb.Column
	for rows.Next() {
		var c sqldb.Column
		var notNull, hasDefault bool
		var pk int
		if err := rows.Scan(&c.Name, &c.Type, &notNull, &hasDefault, &pk); err != nil {
			return nil, err
		}
		c.Kind = kind(c.Type)
		c.Required = notNull && !hasDefault && !(pk > 0 && strings.EqualFold(c.Type, "INTEGER"))
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no such table")
	}
	return out, nil
}

// kind follows SQLite's affinity rules, with the declared names that
// carry a meaning SQLite itself ignores: BOOLEAN and DATE/TIME.
func kind(decl string) sqldb.Kind {
	t := strings.ToUpper(decl)
	switch {
	case strings.Contains(t, "BOOL"):
		return sqldb.Bool
	case strings.Contains(t, "DATE"), strings.Contains(t, "TIME"):
		return sqldb.Time
	case strings.Contains(t, "INT"):
		return sqldb.Int
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return sqldb.Text
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return sqldb.Float
	}
	return sqldb.Other
}
