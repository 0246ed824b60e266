package sqlite

import "testing"

func TestColumn(t *testing.T) {
	for msg, want := range map[string]string{
		"constraint failed: NOT NULL constraint failed: items.name (1299)":    "name",
		"constraint failed: UNIQUE constraint failed: tags.a, tags.b (2067)":  "a",
		"constraint failed: NOT NULL constraint failed: my items.name (1299)": "name",
		"constraint failed: FOREIGN KEY constraint failed (787)":              "",
		"constraint failed: CHECK constraint failed: qty > 0 (275)":           "",
		"cannot store TEXT value in INTEGER column items.qty (3091)":          "qty",
	} {
		if got := column(msg); got != want {
			t.Errorf("column(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestKind(t *testing.T) {
	for decl, want := range map[string]string{
		"INTEGER": "integer", "BIGINT": "integer", "VARCHAR(64)": "text", "TEXT": "text", "DOUBLE PRECISION": "float",
		"REAL": "float", "BOOLEAN": "boolean", "DATETIME": "timestamp", "TIMESTAMP": "timestamp", "DATE": "timestamp",
		"NUMERIC": "other", "": "other", "BLOB": "other",
	} {
		if got := kind(decl).String(); got != want {
			t.Errorf("kind(%q) = %s, want %s", decl, got, want)
		}
	}
}
