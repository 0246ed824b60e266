package salesforce

// The block of tandem.yaml that configures a system of type salesforce,
// and its checks.

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector/rest"
)

func init() {
	config.Register(config.Section{Key: "salesforce", Types: []string{"salesforce"},
		New: func() any { return &Settings{} }, Check: check})
}

// Settings configure a system of type salesforce. The system's dsn is
// the org's instance URL, like https://acme.my.salesforce.com.
type Settings struct {
	rest.API `yaml:",inline"`
	// Version is the REST API version. Default 60.0.
	Version string `yaml:"version"`
	// ExternalID is a custom External ID field present on every mapped
	// object (like Tandem_Id__c) in which tandem keeps each record's
	// global id. Creates then upsert by it, so a retried create can never
	// make a second record.
	ExternalID string `yaml:"external_id"`
}

// SettingsOf returns the salesforce block of sys, empty when it has none.
func SettingsOf(sys *config.System) Settings {
	if s, ok := sys.Block("salesforce").(*Settings); ok && s != nil {
		return *s
	}
	return Settings{}
}

var apiVersion = regexp.MustCompile(`^[0-9]+\.[0-9]$`)

// check checks the system of type salesforce c is at; block is its
// *Settings or nil.
func check(c *config.Check, block any) {
	rest.CheckBaseURL(c)
	s, _ := block.(*Settings)
	if s == nil {
		return
	}
	bc := c.Under("salesforce")
	rest.CheckAPI(bc, s.API)
	if v := s.Version; v != "" && !apiVersion.MatchString(v) {
		bc.Add(fmt.Sprintf("%q is not an API version", v), "write it like 60.0", "version")
	}
	if f := s.ExternalID; f != "" && !strings.HasSuffix(f, "__c") {
		bc.Add(fmt.Sprintf("%q is not a custom field name", f),
			"create a custom text field marked External ID and Unique on each mapped object, like Tandem_Id__c", "external_id")
	}
}
