package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one mistake in a config file, with where it is and what to do.
type Problem struct {
	// File is the config file as given to Load.
	File string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Path is the YAML path of the key the problem is about, like
	// systems.crm.type or routes[1].between[0].
	Path string
	// Msg says what is wrong; Hint says what to do about it.
	Msg, Hint string
}

// Error formats the problem like
// tandem.yaml:14:5: systems.crm.type: "postgress" is not a connector type; hint: …
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	if p.Hint != "" {
		b.WriteString("; hint: ")
		b.WriteString(p.Hint)
	}
	return b.String()
}

// Problems is every mistake found in a config file, one per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// err returns ps as an error, or nil when there are none.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// sorted orders ps as they appear in the file and drops exact repeats.
func (ps Problems) sorted() Problems {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column), cmp.Compare(a.Path, b.Path), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.Compact(out)
}
