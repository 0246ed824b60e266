package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExample loads the worked example of docs/config.md.
func TestExample(t *testing.T) {
	t.Setenv("CATALOGUE_PASSWORD", "catalogue-secret")
	t.Setenv("ACCOUNTING_PASSWORD", "accounting-secret")
	c, err := Load("../../examples/tandem.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.SystemNames(), []string{"accounting", "catalogue", "crm"}; !cmp.Equal(got, want) {
		t.Errorf("SystemNames() = %v, want %v", got, want)
	}
	if got, want := c.EntityOrder(), []string{"account", "contact", "product"}; !cmp.Equal(got, want) {
		t.Errorf("EntityOrder() = %v, want %v", got, want)
	}
	if got := c.Systems["catalogue"].DSN; got != "postgres://tandem:catalogue-secret@localhost:5432/catalogue" {
		t.Errorf("catalogue dsn = %q", got)
	}
	if got := c.Store.Dir; got != filepath.Join("..", "..", "examples", "tandem-data") {
		t.Errorf("Store.Dir = %q", got)
	}
	if got := *c.Systems["accounting"].Delivery; got != (Delivery{Attempts: 12, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff}) {
		t.Errorf("accounting delivery = %+v", got)
	}
}

func ExampleProblem() {
	p := Problem{File: "tandem.yaml", Line: 14, Column: 5, Path: "systems.crm.type",
		Msg: `"postgress" is not a connector type`, Hint: `did you mean "postgres"? known: http, hubspot, mysql, postgres, queue, salesforce, sqlite`}
	fmt.Println(p)
	// Output: tandem.yaml:14:5: systems.crm.type: "postgress" is not a connector type; hint: did you mean "postgres"? known: http, hubspot, mysql, postgres, queue, salesforce, sqlite
}

// TestDocs checks that docs/config.md shows examples/tandem.yaml as it is
// and documents every key.
func TestDocs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../examples/tandem.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```yaml\n"+string(example)+"```") {
		t.Error("docs/config.md does not show examples/tandem.yaml as it is")
	}
	for _, v := range []any{Config{}, Store{}, System{}, Delivery{}, Entity{}, Mapping{}, Field{}, Route{}} {
		_, keys := yamlKeys(reflect.TypeOf(v))
		for _, k := range keys {
			if !strings.Contains(string(doc), "`"+k+"`") {
				t.Errorf("docs/config.md does not document %T key %s", v, k)
			}
		}
	}
}
