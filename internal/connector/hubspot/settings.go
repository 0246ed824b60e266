package hubspot

// The block of tandem.yaml that configures a system of type hubspot,
// and its checks.

import (
	"fmt"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector/rest"
)

func init() {
	config.Register(config.Section{Key: "hubspot", Types: []string{"hubspot"},
		New: func() any { return &Settings{} }, Check: check})
}

// Settings configure a system of type hubspot. The system's dsn, when
// set, replaces the API's address (DefaultBase).
type Settings struct {
	rest.API `yaml:",inline"`
	// IDProperty is a unique-value custom property present on every
	// mapped object (like tandem_id) in which tandem keeps each record's
	// global id. Creates then upsert by it, so a retried create can never
	// make a second record.
	IDProperty string `yaml:"id_property"`
	// Archived is how often archived (deleted) records are listed. Default 30s.
	Archived config.Duration `yaml:"archived_every"`
	// Webhook accepts HubSpot's webhook notifications (signature v3,
	// signed with the app's client secret) at http://LISTEN/webhooks/SYSTEM.
	Webhook *rest.Webhook `yaml:"webhook" secret:"block"`
}

// SettingsOf returns the hubspot block of sys, empty when it has none.
func SettingsOf(sys *config.System) Settings {
	if s, ok := sys.Block("hubspot").(*Settings); ok && s != nil {
		return *s
	}
	return Settings{}
}

// check checks the system of type hubspot c is at; block is its
// *Settings or nil.
func check(c *config.Check, block any) {
	rest.CheckBaseURL(c)
	s, _ := block.(*Settings)
	if s == nil {
		return
	}
	bc := c.Under("hubspot")
	rest.CheckAPI(bc, s.API)
	if s.Archived < 0 {
		bc.Add(fmt.Sprintf("%s is negative", s.Archived), "write a duration like 30s (the default)", "archived_every")
	}
	rest.CheckWebhook(bc.Under("webhook"), s.Webhook)
}
