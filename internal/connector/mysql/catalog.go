package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
)

// Columns reads the columns of table from information_schema.
func (d *dialect) Columns(ctx context.Context, db *sql.DB, table string) ([]sqldb.Column, error) {
	schema, name, ok := strings.Cut(table, ".")
	if !ok {
		schema, name = d.schema, table
	}
	const q = `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE,
		IS_NULLABLE = 'NO' AND COLUMN_DEFAULT IS NULL AND EXTRA NOT LIKE '%auto_increment%'
			AND EXTRA NOT LIKE '%GENERATED%' AND EXTRA NOT LIKE '%VIRTUAL%' AND EXTRA NOT LIKE '%PERSISTENT%'
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`
	rows, err := db.QueryContext(ctx, q, schema, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sqldb.Column
	for rows.Next() {
		var c sqldb.Column
		var dataType string
		if err := rows.Scan(&c.Name, &dataType, &c.Type, &c.Required); err != nil {
			return nil, err
		}
		c.Kind = kind(strings.ToLower(dataType), strings.ToLower(c.Type))
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

func kind(dataType, columnType string) sqldb.Kind {
	switch dataType {
	case "tinyint":
		if strings.HasPrefix(columnType, "tinyint(1)") {
			return sqldb.Bool
		}
		return sqldb.Int
	case "smallint", "mediumint", "int", "integer", "bigint", "year":
		return sqldb.Int
	case "float", "double", "real":
		return sqldb.Float
	case "bool", "boolean":
		return sqldb.Bool
	case "datetime", "timestamp", "date":
		return sqldb.Time
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		return sqldb.Text
	}
	return sqldb.Other
}
