package config

import (
	"strings"
	"testing"
)

// edit replaces the first old in baseYAML with new.
type edit struct{ old, new string }

// want describes one expected problem. at is text of the edited file on
// the problem's line; msg and hint are parts of the message and hint.
type want struct{ path, msg, hint, at string }

func TestMistakes(t *testing.T) {
	cases := []struct {
		name  string
		edits []edit
		want  []want
	}{
		// The file as a whole.
		{"version 2", []edit{{"version: 1", "version: 2"}},
			[]want{{"version", "version 2 is not supported", "write version: 1", "version: 2"}}},
		{"version missing", []edit{{"version: 1\n", ""}},
			[]want{{"version", "missing", "version: 1", "systems:"}}},
		{"unknown top-level key", []edit{{"routes:", "delivery: {attempts: 3}\nroute: []\nroutes:"}},
			[]want{{"route", "unknown key", `did you mean "routes"?`, "route: []"}}},
		{"listen without host", []edit{{"routes:", "listen: \":7070\"\nroutes:"}},
			[]want{{"listen", `":7070" names no host, so it would accept connections on every interface`,
				"write 127.0.0.1:7070 to accept only this machine, or 0.0.0.0:7070 to accept every interface explicitly", "listen:"}}},
		{"listen without port", []edit{{"routes:", "listen: 127.0.0.1\nroutes:"}},
			[]want{{"listen", `"127.0.0.1" is not an address`, "127.0.0.1:7070 or 0.0.0.0:7070", "listen:"}}},

		// Systems.
		{"type misspelt", []edit{{"type: sqlite", "type: sqllite"}},
			[]want{{"systems.crm.type", `"sqllite" is not a connector type`, `did you mean "sqlite"? known: http, hubspot, mysql, postgres, queue, salesforce, sqlite`, "sqllite"}}},
		{"type missing", []edit{{"{type: sqlite, dsn: crm.db}", "{dsn: crm.db}"}},
			[]want{{"systems.crm.type", "missing", "one of http, hubspot, mysql, postgres, queue, salesforce, sqlite", "crm: {dsn"}}},
		{"dsn missing", []edit{{", dsn: crm.db}", "}"}},
			[]want{{"systems.crm.dsn", "missing", "database file's path", "crm: {type"}}},
		{"dsn misspelt", []edit{{"dsn: crm.db", "dns: crm.db"}},
			[]want{{"systems.crm.dns", "unknown key", `did you mean "dsn"?`, "dns: crm.db"}}},
		{"dsn env unset", []edit{{"dsn: crm.db", `dsn: "${CRM_DB}"`}},
			[]want{{"systems.crm.dsn", "environment variable CRM_DB is not set", "export CRM_DB", "${CRM_DB}"}}},
		{"dsn env bad name", []edit{{"dsn: crm.db", `dsn: "${crm-db}"`}},
			[]want{{"systems.crm.dsn", `"crm-db" is not an environment variable name`, "$${", "${crm-db}"}}},
		{"dsn env unclosed", []edit{{"dsn: crm.db", `dsn: "x${CRM"`}},
			[]want{{"systems.crm.dsn", `"${CRM" has no closing }`, "", "x${CRM"}}},
		{"batch negative", []edit{{"dsn: crm.db", "dsn: crm.db, batch: -5"}},
			[]want{{"systems.crm.batch", "-5 is not more than 0", "from 1 to 10000", "batch: -5"}}},
		{"batch too big", []edit{{"dsn: crm.db", "dsn: crm.db, batch: 20000"}},
			[]want{{"systems.crm.batch", "20000 is more than 10000", "the default is 500", "batch: 20000"}}},
		{"batch not a number", []edit{{"dsn: crm.db", "dsn: crm.db, batch: lots"}},
			[]want{{"systems.crm.batch", `"lots" is not a whole number`, "like 500", "batch: lots"}}},
		{"poll negative", []edit{{"dsn: crm.db", "dsn: crm.db, poll: -1s"}},
			[]want{{"systems.crm.poll", "-1s is not more than 0", "200ms", "poll: -1s"}}},
		{"poll without unit", []edit{{"dsn: crm.db", "dsn: crm.db, poll: 5"}},
			[]want{{"systems.crm.poll", `"5" is not a duration`, "200ms, 5s or 1m", "poll: 5"}}},
		{"snapshot not a bool", []edit{{"dsn: crm.db", "dsn: crm.db, snapshot: yes"}},
			[]want{{"systems.crm.snapshot", `"yes" is not true or false`, "true or false", "snapshot: yes"}}},
		{"system is a string", []edit{{"crm: {type: sqlite, dsn: crm.db}", "crm: sqlite"}},
			[]want{{"systems.crm", `must be a mapping, not "sqlite"`, "known keys: batch, delivery, dsn", "crm: sqlite"}}},
		{"system name", []edit{{"  crm: {", "  my crm: {type: sqlite, dsn: x}\n  crm: {"}},
			[]want{{`systems."my crm"`, `"my crm" is not a valid system name`, "start with a letter", "my crm"}}},
		{"no systems", []edit{{baseYAML, "version: 1\n"}},
			[]want{{"systems", "no systems declared", "declare at least one", ""}}},

		// Delivery.
		{"attempts negative", []edit{{"routes:", "delivery: {attempts: -1}\nroutes:"}},
			[]want{{"delivery.attempts", "-1 is less than 1", "the default is 8", "attempts: -1"}}},
		{"max_backoff below backoff", []edit{{"routes:", "delivery:\n  backoff: 1m\n  max_backoff: 1s\nroutes:"}},
			[]want{{"delivery.max_backoff", "1s is less than backoff 1m0s", "at least backoff", "max_backoff: 1s"}}},
		{"system delivery override", []edit{{"dsn: crm.db}", "dsn: crm.db, delivery: {backoff: -2s}}"}},
			[]want{{"systems.crm.delivery.backoff", "-2s is not more than 0", "100ms", "backoff: -2s"}}},
		{"delivery unknown key", []edit{{"routes:", "delivery: {retries: 3}\nroutes:"}},
			[]want{{"delivery.retries", "unknown key", "known: attempts, backoff, max_backoff", "retries: 3"}}},

		// Entities.
		{"schema missing", []edit{{"    refs: {account: account}\n    schema:", "    refs: {account: account}\n    scheme:"}},
			[]want{{"entities.contact.scheme", "unknown key", `did you mean "schema"?`, "scheme:"}}},
		{"schema left out", []edit{{"    refs: {account: account}\n    schema:\n      type: object\n      properties:\n        name: {type: string}\n        account: {type: string}\n", "    refs: {account: account}\n"}},
			[]want{{"entities.contact.schema", "missing", "schema_file", "  contact:\n    refs"}}},
		{"entity with nothing", []edit{{"mappings:", "  invoice:\nmappings:"}},
			[]want{{"entities.invoice.schema", "missing", "schema_file", "invoice:"}}},
		{"mapping with nothing", []edit{{"routes:", "    invoice:\nroutes:"}},
			[]want{{"mappings.crm.invoice", `"invoice" is not a declared entity`, "known: account, contact", "invoice:"},
				{"mappings.crm.invoice.table", "missing", "invoice records in crm", "invoice:"}}},
		{"schema and file", []edit{{"    match: [email]\n", "    match: [email]\n    schema_file: account.json\n"}},
			[]want{{"entities.account.schema_file", "set together with schema", "not both", "schema_file"}}},
		{"schema file missing", []edit{{"    refs: {account: account}\n    schema:\n      type: object\n      properties:\n        name: {type: string}\n        account: {type: string}\n",
			"    refs: {account: account}\n    schema_file: schemas/contact.json\n"}},
			[]want{{"entities.contact.schema_file", "cannot read schemas/contact.json: file does not exist", "relative to the directory", "schema_file"}}},
		{"schema does not compile", []edit{{"name: {type: string}", "name: {type: strin}"}},
			[]want{{"entities.account.schema.properties.name.type", "invalid JSON Schema: value must be one of 'array', 'boolean'", "json-schema.org", "{type: strin}"}}},
		{"schema not an object", []edit{{"    schema:\n      type: object", "    schema:\n      type: array"}},
			[]want{{"entities.account.schema.type", `"array" is not object`, "type: object", "type: array"}}},
		{"ref to undeclared entity", []edit{{"refs: {account: account}", "refs: {account: acount}"}},
			[]want{{"entities.contact.refs.account", `"acount" is not a declared entity`, `did you mean "account"?`, "refs: {account: acount}"}}},
		{"ref field not in schema", []edit{{"refs: {account: account}", "refs: {acount: account}"}},
			[]want{{"entities.contact.refs.acount", `field "acount" is not in the schema's properties`, `did you mean "account"?`, "refs: {acount"}}},
		{"ref cycle", []edit{{"    match: [email]\n", "    match: [email]\n    refs: {email: contact}\n"}},
			[]want{{"entities.contact.refs.account", "references form a cycle: account → contact → account", "may refer to itself", "refs: {account: account}"}}},
		{"self reference", []edit{{"refs: {account: account}", "refs: {account: account, name: contact}"}}, nil},
		{"match field not in schema", []edit{{"match: [email]", "match: [mail]"}},
			[]want{{"entities.account.match[0]", `field "mail" is not in the schema's properties`, `did you mean "email"?`, "match: [mail]"}}},
		{"match is not a list", []edit{{"match: [email]", "match: email"}},
			[]want{{"entities.account.match", `must be a list, not "email"`, "[a, b]", "match: email"}}},

		// Mappings.
		{"mapping of undeclared system", []edit{{"routes:", "  erp:\n    account: {table: a}\nroutes:"}},
			[]want{{"mappings.erp", `"erp" is not a declared system`, "known: crm, shop", "erp:"}}},
		{"mapping of undeclared entity", []edit{{"  shop:\n    account:", "  shop:\n    invoice: {table: inv}\n    account:"}},
			[]want{{"mappings.shop.invoice", `"invoice" is not a declared entity`, "known: account, contact", "invoice:"}}},
		{"table missing", []edit{{"{table: people, fields", "{fields"}},
			[]want{{"mappings.crm.contact.table", "missing", "holds contact records in crm", "contact: {fields"}}},
		{"field not in schema", []edit{{"name: company_name", "nmae: company_name"}},
			[]want{{"mappings.crm.account.fields.nmae", "not a field of account", `did you mean "name"?`, "nmae:"}}},
		{"field spec unknown key", []edit{{"{column: level, values", "{colum: level, values"}},
			[]want{{"mappings.crm.account.fields.tier.colum", "unknown key", `did you mean "column"?`, "colum:"}}},
		{"ref field with values", []edit{{"account: company_id", "account: {column: company_id, values: {a: b}}"}},
			[]want{{"mappings.crm.contact.fields.account.values", "not allowed on a reference field", "translates references", "company_id, values"}}},
		{"values not reversible", []edit{{"{G: gold, S: silver}", "{G: gold, S: silver, X: gold}"}},
			[]want{{"mappings.crm.account.fields.tier.values.X", `maps to "gold", as "G" does`, "ambiguous", "X: gold"}}},
		{"in does not compile", []edit{{"email: email\n", "email: {column: email, in: 'lower(email', read_only: true}\n"}},
			[]want{{"mappings.crm.account.fields.email.in", "does not compile: ", "this system's columns", "lower(email"}}},
		{"out unknown name", []edit{{"email: email\n", "email: {column: mail, in: 'lower(mail)', out: 'upper(emial)'}\n"}},
			[]want{{"mappings.crm.account.fields.email.out", "does not compile: unknown name emial", "canonical fields email, name, tier", "upper(emial)"}}},
		{"in without out", []edit{{"email: email\n", "email: {column: mail, in: 'lower(mail)'}\n"}},
			[]want{{"mappings.crm.account.fields.email.out", "missing: with in set", "read_only: true", "lower(mail)"}}},
		{"out without column", []edit{{"email: email\n", "email: {in: 'lower(mail)', out: 'email'}\n"}},
			[]want{{"mappings.crm.account.fields.email.column", "missing: out needs a column", "add column", "lower(mail)"}}},
		{"column written twice", []edit{{"email: email\n", "email: company_name\n"}},
			[]want{{"mappings.crm.account.fields.name.column", `"company_name" is also written by field email`, "read_only", "name: company_name"}}},
		{"generated key written", []edit{{"        tier: {enum: [gold, silver]}\n", "        tier: {enum: [gold, silver]}\n        id: {type: integer}\n"},
			{"{table: accounts, fields: {name: name,", "{table: accounts, key_generated: true, fields: {id: id, name: name,"}},
			[]want{{"mappings.shop.account.fields.id", `writes the key column "id", but key_generated: true says the table makes its keys`,
				"read_only: true to carry the key without writing it, or key_generated: false", "key_generated: true"}}},
		{"filter not boolean", []edit{{"{table: contacts, fields", "{table: contacts, filter: 'upper(name)', fields"}},
			[]want{{"mappings.shop.contact.filter", "does not compile: expected bool, but got string", "true or false", "upper(name)"}}},
		{"filter unknown name", []edit{{"{table: contacts, fields", "{table: contacts, filter: 'nam != \"\"', fields"}},
			[]want{{"mappings.shop.contact.filter", "does not compile: unknown name nam", "canonical fields account, name", "filter"}}},

		// Routes.
		{"route entity undeclared", []edit{{"{entity: contact, from", "{entity: contacts, from"}},
			[]want{
				{"entities.contact", "has mappings but no route", "{entity: contact, between: [crm, shop]}", "  contact:\n    refs"},
				{"routes[1].entity", `"contacts" is not a declared entity`, `did you mean "contact"?`, "entity: contacts"},
			}},
		{"route with one system", []edit{{"between: [shop, crm]", "between: [shop]"}},
			[]want{{"routes[0].between", "needs two or more systems", "exchanges account", "between: [shop]"}}},
		{"route both styles", []edit{{"between: [shop, crm]", "between: [shop, crm], from: shop, to: [crm]"}},
			[]want{{"routes[0]", "sets both between and from/to", "one way", "between: [shop, crm], from"}}},
		{"route from itself", []edit{{"to: [crm]", "to: [crm, shop]"}},
			[]want{{"routes[1].to[1]", `"shop" is named twice in this route`, "once", "to: [crm, shop]"}}},
		{"route names a system twice", []edit{{"between: [shop, crm]", "between: [shop, crm, shop]"}},
			[]want{{"routes[0].between[2]", `"shop" is named twice in this route`, "once", "between: [shop, crm, shop]"}}},
		{"route with neither", []edit{{"{entity: account, between: [shop, crm]}", "{entity: account}"}},
			[]want{{"routes[0].between", "missing", "from: a with to: [b]", "{entity: account}"}}},
		{"route without to", []edit{{", to: [crm]}", "}"}},
			[]want{{"routes[1].to", "missing", "receive changes from shop", "from: shop}"}}},
		{"route without from", []edit{{"from: shop, to", "to"}},
			[]want{{"routes[1].from", "missing", "changes go to crm", "to: [crm]}"}}},
		{"route to undeclared system", []edit{{"to: [crm]", "to: [cmr]"}},
			[]want{{"routes[1].to[0]", `"cmr" is not a declared system`, `did you mean "crm"?`, "to: [cmr]"}}},
		{"route system without mapping", []edit{{"  crm: {type", "  erp: {type: mysql, dsn: x}\n  crm: {type"}, {"[shop, crm]", "[shop, crm, erp]"}},
			[]want{{"routes[0].between[2]", `"erp" has no mapping for account`, "add mappings.erp.account", "[shop, crm, erp]"}}},
		{"entity without route", []edit{{"  - {entity: contact, from: shop, to: [crm]}\n", ""}},
			[]want{{"entities.contact", "has mappings but no route", "add a route, like - {entity: contact, between: [crm, shop]}", "  contact:\n    refs"}}},
		{"route is a string", []edit{{"  - {entity: contact, from: shop, to: [crm]}\n", "  - contact\n"}},
			[]want{
				{"entities.contact", "has mappings but no route", "", "  contact:\n    refs"},
				{"routes[1]", `must be a mapping, not "contact"`, "known keys: between, entity, from, to", "- contact"},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := baseYAML
			for _, e := range tc.edits {
				if !strings.Contains(src, e.old) {
					t.Fatalf("edit %q: not in the base config", e.old)
				}
				src = strings.Replace(src, e.old, e.new, 1)
			}
			_, got := parse(t, src, nil)
			expect(t, src, got, tc.want)
		})
	}
}

// A mapping may carry its key: a field on the key column is captured with
// the record and, unless the table makes its keys, written as the key of
// a create. Where it does make them, the field can only be read.
func TestKeyField(t *testing.T) {
	for _, m := range []string{
		"{table: accounts, fields: {id: id, name: name}}",
		"{table: accounts, key: ref, fields: {id: ref, name: name}}",
		"{table: accounts, key_generated: true, fields: {id: {column: id, read_only: true}, name: name}}",
	} {
		src := strings.Replace(baseYAML, "        tier: {enum: [gold, silver]}\n", "        tier: {enum: [gold, silver]}\n        id: {type: integer}\n", 1)
		src = strings.Replace(src, "{table: accounts, fields: {name: name, email: email, tier: tier}}", m, 1)
		if _, problems := parse(t, src, nil); len(problems) != 0 {
			t.Errorf("mapping %s: %v", m, problems)
		}
	}
}

// A listen address with its host written is accepted, whichever host.
func TestListenWithHost(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:7070", "0.0.0.0:7070", "[::1]:7070", "[::]:7070", "hub.internal:7070", "localhost:0"} {
		src := strings.Replace(baseYAML, "routes:", "listen: \""+addr+"\"\nroutes:", 1)
		if c, problems := parse(t, src, nil); len(problems) != 0 {
			t.Errorf("listen %s: %v", addr, problems)
		} else if c.Listen != addr {
			t.Errorf("listen %s: read as %q", addr, c.Listen)
		}
	}
}

// lineOf is the line on which text starts in src.
func lineOf(src, text string) int {
	i := strings.Index(src, text)
	if i < 0 {
		return -1
	}
	return strings.Count(src[:i], "\n") + 1
}

func TestValidateWithoutLoad(t *testing.T) {
	yes := true
	c := &Config{
		Version: 1,
		File:    "built.yaml",
		Systems: map[string]*System{"a": {Type: "sqlite", DSN: "a.db", Poll: DefaultPoll, Batch: 10, Snapshot: &yes, Line: 3}},
		Entities: map[string]*Entity{"item": {Name: "item", Line: 7,
			Schema: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}}},
		Mappings: map[string]map[string]*Mapping{"a": {"item": {Table: "items", Key: "id", Line: 12,
			Fields: map[string]*Field{"name": {Column: "name"}}}}},
		Delivery: Delivery{Attempts: 1, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff},
	}
	err := c.Validate()
	want := "built.yaml:7: entities.item: has mappings but no route; hint: map it in another system too, and add a route, like - {entity: item, between: [a, other]}"
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v\nwant %s", err, want)
	}
	c.Routes = []*Route{{Entity: "item", Between: []string{"a", "b"}, Line: 20}}
	err = c.Validate()
	want = `built.yaml:20: routes[0].between[1]: "b" is not a declared system; hint: known: a`
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v\nwant %s", err, want)
	}
	c.Routes[0].Between = nil
	c.Routes[0].From, c.Routes[0].To = "a", []string{"a"}
	want = `built.yaml:20: routes[0].to[0]: "a" is named twice in this route; hint: name each system once`
	if err = c.Validate(); err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v\nwant %s", err, want)
	}
}
