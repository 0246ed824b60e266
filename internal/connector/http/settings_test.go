package http_test

import (
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/config/configtest"
	"github.com/tandemhub/tandem/internal/connector/rest"
)

func TestSettingsProblems(t *testing.T) {
	y := `version: 1
systems:
  app: {type: sqlite, dsn: ./app.db}
  crm:
    type: http
    dsn: ftp://nowhere
    http:
      rate_limit: 20/x
      auth: {bearer: t, header: {name: X-Key}}
      resources:
        contact:
          paging: {style: pages}
          deletes: {field: deleted, scan: 1m}
      webhook: {encoding: hex}
entities:
  contact: {schema: {type: object, properties: {name: {type: string}}}}
mappings:
  app: {contact: {table: contacts, fields: {name: name}}}
  crm: {contact: {table: contacts, fields: {name: name}}}
routes:
  - {entity: contact, between: [app, crm]}
`
	_, probs := configtest.Parse(t, y, nil)
	if probs == nil {
		t.Fatal("no problems")
	}
	got := probs.Error()
	for _, want := range []string{
		`tandem.yaml:6:5: systems.crm.dsn: "ftp://nowhere" is not an http or https URL`,
		`systems.crm.http.rate_limit: "20/x" is not a rate`,
		`systems.crm.http.auth: sets 2 ways of signing in`,
		`systems.crm.http.resources.contact: no mapping of crm uses table "contact"`,
		`systems.crm.http.resources.contact.paging.style: "pages" is not a paging style`,
		`systems.crm.http.resources.contact.deletes: sets more than one way of seeing deletes`,
		`systems.crm.http.webhook.secret: missing`,
		`systems.crm.http.webhook: needs the hub to listen`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems do not include %q:\n%s", want, got)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"20/s": 20, "600/m": 10, "100/10s": 10, "off": 0, "": 0} {
		if got, err := rest.ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"20", "x/s", "20/fortnight", "-1/s"} {
		if _, err := rest.ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) did not fail", bad)
		}
	}
}
