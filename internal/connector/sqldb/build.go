package sqldb

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// QuoteIdent quotes name with q (a double quote or a backtick), part by
// part around dots, doubling q inside.
func QuoteIdent(name string, q string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = q + strings.ReplaceAll(p, q, q+q) + q
	}
	return strings.Join(parts, ".")
}

// Plain reports whether s may stand between single quotes as it is in
// every dialect: letters, digits, spaces and _ - . , only. Dialects
// render anything else their own way (see each one's literal), since
// what a backslash or a quote means inside a literal differs between
// them and, in MySQL, with the session's sql_mode.
func Plain(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '_', r == ' ', r == '-', r == '.', r == ',':
		default:
			return false
		}
	}
	return true
}

// Names joins the quoted names of cols with commas.
func Names(d Dialect, cols []Column) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.Quote(c.Name))
	}
	return b.String()
}

// Chunks splits rows so that one statement carries at most maxParams
// parameters and maxRows rows.
func Chunks(rows [][]any, maxParams, maxRows int) [][][]any {
	if len(rows) == 0 {
		return nil
	}
	n := maxRows
	if w := len(rows[0]); w > 0 {
		n = max(1, min(n, maxParams/w))
	}
	var out [][][]any
	for len(rows) > n {
		out = append(out, rows[:n])
		rows = rows[n:]
	}
	return append(out, rows)
}

// Values renders rows as "(p, p), (p, p)" with d's placeholders,
// appending the values, converted by conv, to args.
func Values(d Dialect, args *[]any, rows [][]any, conv func(any) any) string {
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, v := range r {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d.Param(args, conv(v)))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Placeholders renders "p, p, …" for vals, appending them to args.
func Placeholders(d Dialect, args *[]any, vals []any, conv func(any) any) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.Param(args, conv(v)))
	}
	return b.String()
}

// TriggerName is a stable name for tandem's objects on table: "tandem_",
// the table name cut to fit (letters, digits, underscores), and a hash of
// the full name, so two tables never share it. It is at most 48 bytes.
func TriggerName(table string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(table) {
		if b.Len() >= 28 {
			break
		}
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	h := fnv.New32a()
	h.Write([]byte(table))
	return fmt.Sprintf("tandem_%s_%08x", b.String(), h.Sum32())
}
