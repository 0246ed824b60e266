package config

import (
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strings"
)

// ConnectorTypes are the connector types a system may name. The registry
// of connectors lives elsewhere; this list is kept in step with it.
var ConnectorTypes = []string{"postgres", "mysql", "sqlite", "http", "salesforce", "hubspot", "queue"}

// Validate checks c for every mistake a user could make and returns them
// all as Problems, or nil. It expects defaults applied, as Load does;
// lines come from the Line fields, so they are those of the enclosing
// system, entity, mapping, field or route.
func (c *Config) Validate() error {
	k := &checker{c: c}
	k.version()
	k.systems()
	k.delivery(c.Delivery, "delivery", 0, nil)
	k.entities()
	k.cycles()
	k.mappings()
	k.routes()
	k.unrouted()
	k.listen()
	return k.probs.sorted().err()
}

// checker collects the problems of one config.
type checker struct {
	c     *Config
	probs Problems
}

func (k *checker) add(line int, path, msg, hint string) {
	k.probs = append(k.probs, Problem{File: k.c.File, Line: line, Path: path, Msg: msg, Hint: hint})
}

func (k *checker) version() {
	switch v := k.c.Version; v {
	case 1:
	case 0:
		k.add(1, "version", "missing", "start the file with version: 1")
	default:
		k.add(1, "version", fmt.Sprintf("version %d is not supported", v), "write version: 1")
	}
}

func (k *checker) systems() {
	if len(k.c.Systems) == 0 {
		k.add(0, "systems", "no systems declared",
			"declare at least one, like systems: {crm: {type: sqlite, dsn: ./crm.db}}")
	}
	for _, name := range k.c.SystemNames() {
		s, p := k.c.Systems[name], child("systems", name)
		if s == nil {
			k.add(0, p, "has no settings", "give it a type and a dsn")
			continue
		}
		k.name(s.Line, p, name, "system")
		switch {
		case s.Type == "":
			k.add(s.Line, child(p, "type"), "missing", "one of "+strings.Join(sortedTypes(), ", "))
		case !slices.Contains(ConnectorTypes, s.Type):
			k.add(s.Line, child(p, "type"), fmt.Sprintf("%q is not a connector type", s.Type), suggest(s.Type, ConnectorTypes))
		}
		if s.DSN == "" && s.Type != "hubspot" && s.Type != "queue" {
			k.add(s.Line, child(p, "dsn"), "missing", dsnHint(s.Type))
		}
		k.sections(s, p)
		switch {
		case s.Batch <= 0:
			k.add(s.Line, child(p, "batch"), fmt.Sprintf("%d is not more than 0", s.Batch),
				fmt.Sprintf("write a number from 1 to %d; the default is %d", MaxBatch, DefaultBatch))
		case s.Batch > MaxBatch:
			k.add(s.Line, child(p, "batch"), fmt.Sprintf("%d is more than %d", s.Batch, MaxBatch),
				fmt.Sprintf("write a number from 1 to %d; the default is %d", MaxBatch, DefaultBatch))
		}
		if s.Poll <= 0 {
			k.add(s.Line, child(p, "poll"), fmt.Sprintf("%s is not more than 0", s.Poll),
				"write a duration like 200ms (the default)")
		}
		if s.Delivery != nil {
			k.delivery(*s.Delivery, child(p, "delivery"), s.Line, &k.c.Delivery)
		}
		k.tls(s, p)
	}
}

// tls checks a system's tls block: a known verify mode, files that exist
// and hold what they should, and a type that connects over the network.
func (k *checker) tls(s *System, p string) {
	t := s.TLS
	if t == nil {
		return
	}
	line, tp := t.Line, child(p, "tls")
	if line == 0 {
		line = s.Line
	}
	if s.Type == "sqlite" {
		k.add(line, tp, "a sqlite system is a file: there is no connection to secure", "remove tls")
		return
	}
	if t.Verify != "" && !slices.Contains(TLSVerifyModes, t.Verify) {
		k.add(line, child(tp, "verify"), fmt.Sprintf("%q is not a verify mode", t.Verify), "one of "+strings.Join(TLSVerifyModes, ", ")+"; full is the default")
		return
	}
	if k.c.File != "" {
		t.resolve(filepath.Dir(k.c.File))
	}
	if _, err := t.Config(); err != nil {
		k.add(line, tp, err.Error(), "ca, cert and key are PEM files, relative to the config file; cert and key go together")
	}
}

// delivery checks delivery settings at path. Settings equal to inherited
// ones (the hub-wide block) are reported there, not again here.
func (k *checker) delivery(d Delivery, path string, line int, inherited *Delivery) {
	own := func(f func(Delivery) Duration) bool { return inherited == nil || f(d) != f(*inherited) }
	backoff := func(d Delivery) Duration { return d.Backoff }
	maxBackoff := func(d Delivery) Duration { return d.MaxBackoff }
	if d.Attempts < 1 && (inherited == nil || d.Attempts != inherited.Attempts) {
		k.add(line, child(path, "attempts"), fmt.Sprintf("%d is less than 1", d.Attempts),
			fmt.Sprintf("write how many times to try a write before dead-lettering it; the default is %d", DefaultAttempts))
	}
	if d.Backoff <= 0 && own(backoff) {
		k.add(line, child(path, "backoff"), fmt.Sprintf("%s is not more than 0", d.Backoff),
			"write the first retry delay, like 100ms (the default)")
	}
	switch {
	case d.MaxBackoff <= 0 && own(maxBackoff):
		k.add(line, child(path, "max_backoff"), fmt.Sprintf("%s is not more than 0", d.MaxBackoff),
			"write the longest retry delay, like 30s (the default)")
	case d.MaxBackoff > 0 && d.Backoff > 0 && d.MaxBackoff < d.Backoff && (own(backoff) || own(maxBackoff)):
		k.add(line, child(path, "max_backoff"), fmt.Sprintf("%s is less than backoff %s", d.MaxBackoff, d.Backoff),
			"max_backoff caps the retry delay; make it at least backoff")
	}
}

// name checks that a system or entity name is usable in paths, keys and
// commands such as tandem trace contact crm:42.
func (k *checker) name(line int, path, name, what string) {
	for i, c := range name {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c != '_' && c != '-' && (c < '0' || c > '9')) {
			k.add(line, path, fmt.Sprintf("%q is not a valid %s name", name, what),
				"start with a letter; use letters, digits, _ and -")
			return
		}
	}
}

func dsnHint(typ string) string {
	switch typ {
	case "postgres":
		return "write like postgres://tandem:${PG_PASSWORD}@localhost:5432/catalogue"
	case "mysql":
		return "write like tandem:${MYSQL_PASSWORD}@tcp(localhost:3306)/accounting"
	case "sqlite":
		return "write the database file's path, like ./crm.db"
	case "http":
		return "write the API's base URL, like https://api.example.com/v1"
	case "salesforce":
		return "write the org's instance URL, like https://acme.my.salesforce.com"
	}
	return "write the connection string of the system; secrets as ${ENV_VAR}"
}

func sortedTypes() []string { return slices.Sorted(slices.Values(ConnectorTypes)) }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// listen checks the hub's listen address.
func (k *checker) listen() {
	if k.c.Listen == "" {
		return
	}
	host, port, err := net.SplitHostPort(k.c.Listen)
	if err != nil || port == "" {
		k.add(0, "listen", fmt.Sprintf("%q is not an address", k.c.Listen), "write host:port, like 127.0.0.1:7070 or 0.0.0.0:7070")
		return
	}
	if host == "" {
		// An empty host binds every interface; that must be asked for.
		k.add(0, "listen", fmt.Sprintf("%q names no host, so it would accept connections on every interface", k.c.Listen),
			fmt.Sprintf("write 127.0.0.1:%s to accept only this machine, or 0.0.0.0:%s to accept every interface explicitly", port, port))
	}
}
