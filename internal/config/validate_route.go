package config

import (
	"fmt"
	"strings"
)

func (k *checker) routes() {
	entities := sortedKeys(k.c.Entities)
	for i, r := range k.c.Routes {
		rp := item("routes", i)
		if r == nil {
			continue
		}
		switch {
		case r.Entity == "":
			k.add(r.Line, child(rp, "entity"), "missing", suggest("", entities))
		case k.c.Entities[r.Entity] == nil:
			k.add(r.Line, child(rp, "entity"), fmt.Sprintf("%q is not a declared entity", r.Entity), suggest(r.Entity, entities))
		}
		oneWay := r.From != "" || len(r.To) > 0
		switch {
		case len(r.Between) > 0 && oneWay:
			k.add(r.Line, rp, "sets both between and from/to",
				"use between for systems that exchange changes both ways, or from and to for one way")
		case len(r.Between) == 1:
			k.add(r.Line, child(rp, "between"), "needs two or more systems", "list every system that exchanges "+r.Entity)
		case !oneWay && len(r.Between) == 0:
			k.add(r.Line, child(rp, "between"), "missing",
				"write between: [a, b] for both ways, or from: a with to: [b] for one way")
		case oneWay && r.From == "":
			k.add(r.Line, child(rp, "from"), "missing", "name the system whose changes go to "+strings.Join(r.To, ", "))
		case oneWay && len(r.To) == 0:
			k.add(r.Line, child(rp, "to"), "missing", "list the systems that receive changes from "+r.From+", like to: [b]")
		}
		seen := map[string]bool{}
		for j, s := range r.Between {
			k.member(r, s, item(child(rp, "between"), j), seen)
		}
		seen = map[string]bool{}
		if r.From != "" {
			k.member(r, r.From, child(rp, "from"), seen)
		}
		for j, s := range r.To {
			k.member(r, s, item(child(rp, "to"), j), seen)
		}
	}
}

// member checks a system named by route r at path p.
func (k *checker) member(r *Route, sys, p string, seen map[string]bool) {
	switch {
	case sys == "":
		k.add(r.Line, p, "empty system name", suggest("", k.c.SystemNames()))
	case k.c.Systems[sys] == nil:
		k.add(r.Line, p, fmt.Sprintf("%q is not a declared system", sys), suggest(sys, k.c.SystemNames()))
	case seen[sys]:
		k.add(r.Line, p, fmt.Sprintf("%q is named twice in this route", sys), "name each system once")
	case k.c.Entities[r.Entity] != nil && k.c.Mappings[sys][r.Entity] == nil:
		k.add(r.Line, p, fmt.Sprintf("%q has no mapping for %s", sys, r.Entity),
			fmt.Sprintf("add mappings.%s.%s, or leave %s out of this route", sys, r.Entity, sys))
	}
	seen[sys] = true
}

// unrouted reports entities that systems map but no route moves.
func (k *checker) unrouted() {
	routed := map[string]bool{}
	for _, r := range k.c.Routes {
		if r != nil {
			routed[r.Entity] = true
		}
	}
	for _, name := range sortedKeys(k.c.Entities) {
		var mapped []string
		for _, sys := range sortedKeys(k.c.Mappings) {
			if k.c.Mappings[sys][name] != nil {
				mapped = append(mapped, sys)
			}
		}
		if len(mapped) == 0 || routed[name] || k.c.Entities[name] == nil {
			continue
		}
		hint := fmt.Sprintf("add a route, like - {entity: %s, between: [%s]}", name, strings.Join(mapped, ", "))
		if len(mapped) == 1 {
			hint = fmt.Sprintf("map it in another system too, and add a route, like - {entity: %s, between: [%s, other]}", name, mapped[0])
		}
		k.add(k.c.Entities[name].Line, child("entities", name), "has mappings but no route", hint)
	}
}
