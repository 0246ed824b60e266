package config

import (
	"testing"
)

func TestProblemError(t *testing.T) {
	cases := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "t.yaml", Line: 3, Column: 7, Path: "a.b", Msg: "bad", Hint: "fix"}, "t.yaml:3:7: a.b: bad; hint: fix"},
		{Problem{File: "t.yaml", Line: 3, Path: "a.b", Msg: "bad"}, "t.yaml:3: a.b: bad"},
		{Problem{File: "t.yaml", Msg: "bad"}, "t.yaml: bad"},
		{Problem{Line: 2, Msg: "bad"}, ":2: bad"},
		{Problem{Msg: "bad", Hint: "fix"}, "bad; hint: fix"},
	}
	for _, tc := range cases {
		if got := tc.p.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	ps := Problems{{File: "t", Line: 2, Msg: "b"}, {File: "t", Line: 1, Msg: "a"}, {File: "t", Line: 2, Msg: "b"}}
	if got, want := ps.sorted().Error(), "t:1: a\nt:2: b"; got != want {
		t.Errorf("sorted Problems = %q, want %q", got, want)
	}
	if Problems(nil).err() != nil {
		t.Error("no problems is not a nil error")
	}
}

func TestPaths(t *testing.T) {
	cases := []struct{ path, parent string }{
		{child("", "systems"), ""},
		{child("systems", "crm"), "systems"},
		{child(child("mappings", "my.db"), "account"), `mappings."my.db"`},
		{child("mappings", "my.db"), "mappings"},
		{item(child("routes", "x"), 2), "routes.x"},
		{child(item("routes", 2), "between"), "routes[2]"},
		{child("a", `q"[.`), "a"},
		{item("routes", 0), "routes"},
	}
	for _, tc := range cases {
		if got := parent(tc.path); got != tc.parent {
			t.Errorf("parent(%s) = %q, want %q", tc.path, got, tc.parent)
		}
	}
	if got, want := child(child("mappings", "my.db"), "account"), `mappings."my.db".account`; got != want {
		t.Errorf("path = %s, want %s", got, want)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"type", "dsn", "batch", "poll", "snapshot", "delivery"}
	cases := map[string]string{
		"typ":      "type",
		"Type":     "type",
		"dns":      "dsn",
		"btach":    "batch",
		"snapshop": "snapshot",
		"delivry":  "delivery",
		"x":        "",
		"color":    "",
		"":         "",
	}
	for word, want := range cases {
		if got := closest(word, known); got != want {
			t.Errorf("closest(%q) = %q, want %q", word, got, want)
		}
	}
	if got, want := suggest("b", []string{"a"}), "known: a"; got != want {
		t.Errorf("suggest = %q, want %q", got, want)
	}
	if got, want := suggest("postgress", ConnectorTypes), `did you mean "postgres"? known: http, hubspot, mysql, postgres, queue, salesforce, sqlite`; got != want {
		t.Errorf("suggest = %q, want %q", got, want)
	}
	if got, want := suggest("x", nil), "known: none"; got != want {
		t.Errorf("suggest = %q, want %q", got, want)
	}
}
