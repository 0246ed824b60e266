package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoutes(t *testing.T) {
	c := &Config{
		Systems: map[string]*System{"a": {}, "b": {}, "c": {}, "d": {}},
		Routes: []*Route{
			{Entity: "account", Between: []string{"c", "a", "b"}},
			{Entity: "account", From: "d", To: []string{"b", "a"}},
			{Entity: "product", From: "a", To: []string{"c", "b"}},
			{Entity: "product", From: "d", To: []string{"a"}},
			nil,
		},
	}
	targets := []struct {
		entity, from string
		want         []string
	}{
		{"account", "a", []string{"b", "c"}},
		{"account", "c", []string{"a", "b"}},
		{"account", "d", []string{"a", "b"}},
		{"product", "a", []string{"b", "c"}},
		{"product", "b", nil},
		{"product", "d", []string{"a"}},
		{"contact", "a", nil},
	}
	for _, tc := range targets {
		if got := c.Targets(tc.entity, tc.from); !cmp.Equal(got, tc.want) {
			t.Errorf("Targets(%s, %s) = %v, want %v", tc.entity, tc.from, got, tc.want)
		}
	}
	captures := map[string][]string{"account": {"a", "b", "c", "d"}, "product": {"a", "d"}, "contact": nil}
	for ent, want := range captures {
		if got := c.Captures(ent); !cmp.Equal(got, want) {
			t.Errorf("Captures(%s) = %v, want %v", ent, got, want)
		}
	}
	if got, want := c.SystemNames(), []string{"a", "b", "c", "d"}; !cmp.Equal(got, want) {
		t.Errorf("SystemNames() = %v, want %v", got, want)
	}
}

func TestEntityOrder(t *testing.T) {
	cases := []struct {
		name string
		refs map[string]map[string]string // entity → field → entity
		want []string
	}{
		{"none", map[string]map[string]string{"b": nil, "a": nil, "c": nil}, []string{"a", "b", "c"}},
		{"parents first", map[string]map[string]string{
			"contact": {"account": "account"},
			"account": {"parent": "account", "region": "region"},
			"region":  nil,
			"deal":    {"contact": "contact", "account": "account"},
			"band":    nil,
		}, []string{"band", "region", "account", "contact", "deal"}},
		{"unknown parent ignored", map[string]map[string]string{"a": {"x": "ghost"}}, []string{"a"}},
		{"cycle last", map[string]map[string]string{"z": nil, "a": {"b": "b"}, "b": {"a": "a"}}, []string{"z", "a", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{Entities: map[string]*Entity{}}
			for name, refs := range tc.refs {
				c.Entities[name] = &Entity{Refs: refs}
			}
			if got := c.EntityOrder(); !cmp.Equal(got, tc.want) {
				t.Errorf("EntityOrder() = %v, want %v", got, tc.want)
			}
		})
	}
}
