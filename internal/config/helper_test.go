package config

import (
	"errors"
	"io/fs"
	"testing"
)

// baseYAML is a small valid config; the mistake tests change one thing in it.
const baseYAML = `version: 1
systems:
  shop: {type: postgres, dsn: "postgres://localhost/shop"}
  crm: {type: sqlite, dsn: crm.db}
entities:
  account:
    match: [email]
    schema:
      type: object
      properties:
        name: {type: string}
        email: {type: string}
        tier: {enum: [gold, silver]}
  contact:
    refs: {account: account}
    schema:
      type: object
      properties:
        name: {type: string}
        account: {type: string}
mappings:
  shop:
    account: {table: accounts, fields: {name: name, email: email, tier: tier}}
    contact: {table: contacts, fields: {name: name, account: account_id}}
  crm:
    account:
      table: companies
      fields:
        name: company_name
        email: email
        tier: {column: level, values: {G: gold, S: silver}}
    contact: {table: people, fields: {name: full_name, account: company_id}}
routes:
  - {entity: account, between: [shop, crm]}
  - {entity: contact, from: shop, to: [crm]}
`

// testEnv is the environment the tests see.
var testEnv = map[string]string{"SHOP_PASSWORD": "s3cret", "EMPTY": "", "CANARY": "canary-7f3a9", "BIG": "20000"}

// parse loads src as the file tandem.yaml with testEnv as the environment
// and files as the other files, and returns the config or its problems.
func parse(t *testing.T, src string, files map[string]string) (*Config, Problems) {
	t.Helper()
	lookup := func(name string) (string, bool) {
		v, ok := testEnv[name]
		return v, ok
	}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	c, err := Read("tandem.yaml", []byte(src), lookup, readFile)
	if err == nil {
		return c, nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is not Problems: %v", err)
	}
	if c != nil {
		t.Fatalf("config returned with problems")
	}
	return nil, ps
}
