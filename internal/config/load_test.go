package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadDefaults(t *testing.T) {
	src := strings.Replace(baseYAML, "crm: {type: sqlite, dsn: crm.db}",
		"crm: {type: sqlite, dsn: crm.db, poll: 1s, batch: 50, snapshot: false, delivery: {attempts: 3}}", 1)
	src = strings.Replace(src, "routes:", "delivery: {backoff: 1s}\nroutes:", 1)
	c, ps := parse(t, src, nil)
	if ps != nil {
		t.Fatal(ps)
	}
	if c.Store.Dir != "tandem-data" {
		t.Errorf("Store.Dir = %q, want tandem-data (beside the config file)", c.Store.Dir)
	}
	yes, no := true, false
	wantShop := &System{Name: "shop", Line: 3, Type: "postgres", DSN: "postgres://localhost/shop",
		Poll: DefaultPoll, Batch: DefaultBatch, Snapshot: &yes,
		Delivery: &Delivery{Attempts: DefaultAttempts, Backoff: Duration(time.Second), MaxBackoff: DefaultMaxBackoff}}
	wantCRM := &System{Name: "crm", Line: 4, Type: "sqlite", DSN: "crm.db",
		Poll: Duration(time.Second), Batch: 50, Snapshot: &no,
		Delivery: &Delivery{Attempts: 3, Backoff: Duration(time.Second), MaxBackoff: DefaultMaxBackoff}}
	if d := cmp.Diff(map[string]*System{"shop": wantShop, "crm": wantCRM}, c.Systems); d != "" {
		t.Errorf("systems (-want +got):\n%s", d)
	}
	m := c.Mappings["crm"]["account"]
	want := &Mapping{Table: "companies", Key: "id", System: "crm", Entity: "account", Line: 26, Fields: map[string]*Field{
		"name":  {Column: "company_name", Line: 29},
		"email": {Column: "email", Line: 30},
		"tier":  {Column: "level", Values: map[string]string{"G": "gold", "S": "silver"}, Line: 31},
	}}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("crm account mapping (-want +got):\n%s", d)
	}
	if r := c.Routes[1]; r.Line != 36 || r.From != "shop" || !cmp.Equal(r.To, []string{"crm"}) {
		t.Errorf("route 1 = %+v", r)
	}
	if e := c.Entities["contact"]; e.Name != "contact" || e.Line != 14 || e.Refs["account"] != "account" {
		t.Errorf("contact = %+v", e)
	}
}

func TestLoadFieldForms(t *testing.T) {
	src := strings.Replace(baseYAML, "email: email\n", `email:
          column: mail
          in: lower(mail)
          out: upper(email)
          default: nobody@example.com
`, 1)
	src = strings.Replace(src, "name: company_name", "name: {in: 'given + \" \" + family', read_only: true}", 1)
	c, ps := parse(t, src, nil)
	if ps != nil {
		t.Fatal(ps)
	}
	got := c.Mappings["crm"]["account"].Fields
	want := map[string]*Field{
		"name":  {In: `given + " " + family`, ReadOnly: true, Line: 29},
		"email": {Column: "mail", In: "lower(mail)", Out: "upper(email)", Default: "nobody@example.com", Line: 30},
		"tier":  {Column: "level", Values: map[string]string{"G": "gold", "S": "silver"}, Line: 35},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
}

func TestLoadEnv(t *testing.T) {
	src := strings.Replace(baseYAML, `dsn: "postgres://localhost/shop"`,
		`dsn: "postgres://shop:${SHOP_PASSWORD}@localhost/shop?x=$${NOT_EXPANDED}&e=${EMPTY}"`, 1)
	// A comment mentioning ${UNSET} is not expanded.
	src = "# uses ${UNSET}\n" + src
	c, ps := parse(t, src, nil)
	if ps != nil {
		t.Fatal(ps)
	}
	if got, want := c.Systems["shop"].DSN, "postgres://shop:s3cret@localhost/shop?x=${NOT_EXPANDED}&e="; got != want {
		t.Errorf("DSN = %q, want %q", got, want)
	}
}

func TestLoadAnchorsAndMerge(t *testing.T) {
	src := strings.Replace(baseYAML, `systems:
  shop: {type: postgres, dsn: "postgres://localhost/shop"}
  crm: {type: sqlite, dsn: crm.db}`, `x-base: &fast {poll: 50ms, batch: 100}
systems:
  shop: {<<: *fast, type: postgres, dsn: "postgres://localhost/shop"}
  crm:
    <<: *fast
    type: sqlite
    dsn: crm.db`, 1)
	c, ps := parse(t, src, nil)
	if ps != nil {
		t.Fatal(ps)
	}
	if crm := c.Systems["crm"]; crm.Poll != Duration(50*time.Millisecond) || crm.Batch != 100 || crm.Type != "sqlite" {
		t.Errorf("crm = %+v", crm)
	}
	// Top-level keys other than x-… are rejected.
	_, ps = parse(t, strings.Replace(src, "x-base:", "base:", 1), nil)
	if len(ps) != 1 || ps[0].Path != "base" || ps[0].Msg != "unknown key" {
		t.Fatalf("problems = %v, want only base unknown", ps)
	}
	// Anchors may be defined inside a known key.
	src = strings.Replace(src, "x-base: &fast {poll: 50ms, batch: 100}\n", "", 1)
	src = strings.Replace(src, "shop: {<<: *fast, type", "shop: &fast {poll: 50ms, batch: 100, type", 1)
	src = strings.Replace(src, "    <<: *fast\n", "    <<: *fast\n    batch: 7\n", 1)
	c, ps = parse(t, src, nil)
	if ps != nil {
		t.Fatal(ps)
	}
	crm := c.Systems["crm"]
	if crm.Poll != Duration(50*time.Millisecond) || crm.Batch != 7 || crm.Type != "sqlite" || crm.DSN != "crm.db" {
		t.Errorf("crm = %+v", crm)
	}
}

func TestLoadSchemaFile(t *testing.T) {
	src := strings.Replace(baseYAML, `    refs: {account: account}
    schema:
      type: object
      properties:
        name: {type: string}
        account: {type: string}
`, "    refs: {account: account}\n    schema_file: schemas/contact.json\n", 1)
	files := map[string]string{"schemas/contact.json": `{"type": "object", "properties": {"name": {"type": "string"}, "account": {"type": "string"}}}`}
	c, ps := parse(t, src, files)
	if ps != nil {
		t.Fatal(ps)
	}
	if got := c.Entities["contact"].Fields(); !cmp.Equal(got, []string{"account", "name"}) {
		t.Errorf("contact fields = %v", got)
	}

	files["schemas/contact.json"] = `{"type": "object", "properties": {"name": {"type": 5}}}`
	_, ps = parse(t, src, files)
	want := `tandem.yaml:16:5: entities.contact.schema_file: invalid JSON Schema: at /properties/name/type: value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'; hint: see https://json-schema.org/understanding-json-schema`
	if len(ps) != 4 || ps[1].Error() != want {
		// The others: refs.account and the mappings' account fields are not in the schema.
		t.Fatalf("problems =\n%v\nwant first\n%s", ps, want)
	}

	files["schemas/contact.json"] = `{"type": "object",`
	_, ps = parse(t, src, files)
	if len(ps) != 1 || !strings.HasPrefix(ps[0].Msg, "schemas/contact.json is not JSON or YAML: line 1:") {
		t.Fatalf("problems = %v", ps)
	}
}

func TestLoadFromDisk(t *testing.T) {
	dir := t.TempDir()
	src := strings.Replace(baseYAML, `    refs: {account: account}
    schema:
      type: object
      properties:
        name: {type: string}
        account: {type: string}
`, "    refs: {account: account}\n    schema_file: contact.yaml\n", 1)
	src = "store: {dir: state}\n" + src
	schema := "type: object\nproperties:\n  name: {type: string}\n  account: {type: string}\n"
	if err := os.WriteFile(filepath.Join(dir, "contact.yaml"), []byte(schema), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != path || c.Store.Dir != filepath.Join(dir, "state") {
		t.Errorf("File = %q, Store.Dir = %q", c.File, c.Store.Dir)
	}
	if c.Entities["contact"].Schema == nil {
		t.Error("schema_file not read")
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !os.IsNotExist(err) && !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Load(missing) = %v", err)
	}
}

func TestLoadBadYAML(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"syntax", "version: 1\nsystems:\n  crm: {type: sqlite\n", "tandem.yaml:3:"},
		{"duplicate key", "version: 1\nversion: 1\n", `tandem.yaml:2:1: mapping key "version" already defined at [1:1]; hint: fix the YAML syntax`},
		{"empty", "", "tandem.yaml:1:1: the file is empty; hint: start with version: 1"},
		{"comments only", "# nothing\n", "tandem.yaml:1:1: the file is empty"},
		{"list", "- a\n- b\n", `tandem.yaml:1:1: must be a mapping, not a list; hint: known keys: delivery, entities, listen, mappings, routes, store, systems, version`},
		{"two documents", baseYAML + "---\nversion: 1\n", "tandem.yaml:37:1: a second YAML document starts here (document 2); hint: keep the whole configuration in one document"},
		{"alias without anchor", strings.Replace(baseYAML, "dsn: crm.db", "dsn: *db", 1), `tandem.yaml:4:28: systems.crm.dsn: alias *db names no anchor`},
		{"key is a list", strings.Replace(baseYAML, "routes:", "? [a, b]\n: c\nroutes:", 1), "tandem.yaml:34:1: found an invalid key for this map"},
		{"alias loop", strings.Replace(baseYAML, "email: email\n", "email: {column: email, default: &s {x: [*s]}}\n", 1),
			"tandem.yaml:30:48: mappings.crm.account.fields.email.default.x[0].x[0].x[0].x: nested too deeply"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ps := parse(t, tc.src, nil)
			if len(ps) != 1 || !strings.Contains(ps.Error(), tc.want) {
				t.Fatalf("problems =\n%v\nwant one with %q", ps, tc.want)
			}
		})
	}
}

func TestLoadAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nentities:\n  a:\n    schema:\n      l0: &l0 [x, x, x, x]\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&b, "      l%d: &l%d [*l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1)
	}
	_, ps := parse(t, b.String(), nil)
	if !strings.Contains(ps.Error(), "expands to too many values") {
		t.Fatalf("problems = %v", ps)
	}
}

// TestDecodableTypes guards decode's panic: every field a YAML key sets
// is of a kind the decoder handles. Register checks each section's type.
func TestDecodableTypes(t *testing.T) {
	for _, bad := range undecodable(reflect.TypeFor[Config]()) {
		t.Error(bad)
	}
	type odd struct {
		F float64 `yaml:"f"`
	}
	if got := undecodable(reflect.TypeFor[odd]()); len(got) != 1 {
		t.Errorf("a float field went unnoticed: %v", got)
	}
}
