package hubspot_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/sim"
	"github.com/tandemhub/tandem/internal/sim/simtest"
	"github.com/tandemhub/tandem/internal/webhook"
)

const system = `    type: hubspot
    dsn: %s
    poll: 20ms
    batch: 200
    hubspot:
      auth: {bearer: hs-token}
      timeout: 2s
      max_wait: 1m
      id_property: tandem_id
      archived_every: 200ms
      webhook: {secret: app-secret}`

const mapping = `      table: contacts
      key: id
      key_generated: true
      fields: {name: lastname, email: email, tier: tandem_tier}`

func rig(t *testing.T, f sim.Faults, seed, batch int) (*simtest.Rig, *sim.HubSpot) {
	hs := sim.NewHubSpot(f)
	hs.Token = "hs-token"
	sys := strings.Replace(system, "batch: 200", fmt.Sprintf("batch: %d", batch), 1)
	return simtest.New(t, simtest.Options{Handler: hs, System: sys, Mapping: mapping, Seed: seed}), hs
}

func byEmail(hs *sim.HubSpot) (map[string]map[string]any, error) {
	return hs.Store.LiveBy("contacts", "email", "id")
}

func delivered(t *testing.T, r *simtest.Rig, hs *sim.HubSpot, n int) {
	t.Helper()
	simtest.Until(t, 60*time.Second, "every contact reaches HubSpot once", func() error {
		m, err := byEmail(hs)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != n {
			return fmt.Errorf("HubSpot holds %d of %d", len(m), n)
		}
		if p, _, _ := r.Status(); p != 0 {
			return fmt.Errorf("%d pending", p)
		}
		return nil
	})
	m, _ := byEmail(hs)
	for i := range n {
		c := m[fmt.Sprintf("p%d@example.com", i)]
		if c["lastname"] != fmt.Sprintf("Person %d", i) || c["tandem_tier"] != "gold" || c["tandem_id"] == nil {
			t.Errorf("contact %d = %v", i, c)
		}
	}
	if d := r.Dead(); len(d) > 0 {
		t.Errorf("dead letters: %v", d)
	}
}

// Contacts flow both ways, custom property included; HubSpot's archive
// reaches the app; nothing echoes.
func TestBothWays(t *testing.T) {
	r, hs := rig(t, sim.Faults{}, 3, 200)
	delivered(t, r, hs, 3)
	a, _ := hs.Store.Create("contacts", map[string]any{"lastname": "Cat", "email": "cat@example.com", "tandem_tier": "silver"})
	simtest.Until(t, 10*time.Second, "a HubSpot create reaches the app", func() error {
		for _, f := range r.App.Rows("contact") {
			if f["email"] == "cat@example.com" && f["tier"] == "silver" {
				return nil
			}
		}
		return fmt.Errorf("app has %v", r.App.Rows("contact"))
	})
	if _, err := hs.Store.Update("contacts", a.ID, map[string]any{"lastname": "Catherine"}); err != nil {
		t.Fatal(err)
	}
	m, _ := byEmail(hs)
	if err := hs.Store.Delete("contacts", fmt.Sprint(m["p2@example.com"]["id"])); err != nil {
		t.Fatal(err)
	}
	r.App.Put("contact", "a0001", record.Fields{"name": "Person One", "email": "p1@example.com", "tier": "platinum"})
	simtest.Until(t, 10*time.Second, "edits on both sides agree", func() error {
		names := map[string]string{}
		for _, f := range r.App.Rows("contact") {
			names[fmt.Sprint(f["email"])] = fmt.Sprint(f["name"])
		}
		m, _ := byEmail(hs)
		if len(names) != 3 || names["cat@example.com"] != "Catherine" || names["p2@example.com"] != "" ||
			m["p1@example.com"]["tandem_tier"] != "platinum" {
			return fmt.Errorf("app %v, HubSpot %v", names, m)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	for _, k := range []string{"a0000", "a0001"} {
		if n := r.Writes(k); n != 0 {
			t.Errorf("app record %s written back %d times (echo)", k, n)
		}
	}
}

// 429s with policyName SECONDLY, 500s and lost answers: every contact
// arrives once, thanks to upserts by the id property.
func TestLimitsAndFailures(t *testing.T) {
	const n = 120
	r, hs := rig(t, sim.Faults{Rate: 15, Burst: 1, ErrorRate: 0.15, LoseRate: 0.15, Seed: 11}, n, 5)
	delivered(t, r, hs, n)
	st := hs.Stats()
	t.Logf("%+v", st)
	if st.Failed == 0 || st.Lost == 0 {
		t.Errorf("faults not exercised: %+v", st)
	}
}

// A value HubSpot refuses fails its whole batch; delivery splits it, the
// bad record is dead-lettered naming the property with HubSpot's
// message, and the rest arrive.
func TestValidationError(t *testing.T) {
	r, hs := rig(t, sim.Faults{}, 0, 200)
	for i := range 6 {
		r.App.Put("contact", fmt.Sprintf("a%04d", i), record.Fields{"name": fmt.Sprintf("Person %d", i),
			"email": fmt.Sprintf("p%d@example.com", i), "tier": "gold"})
	}
	r.App.Put("contact", "bad", record.Fields{"name": "Bad", "email": "nope", "tier": "x"})
	simtest.Until(t, 20*time.Second, "six delivered, one dead-lettered", func() error {
		m, _ := byEmail(hs)
		if len(m) != 6 || len(r.Dead()) != 1 {
			return fmt.Errorf("HubSpot has %d, %d dead letters", len(m), len(r.Dead()))
		}
		return nil
	})
	d := r.Dead()[0]
	if d.Field != "email" || !strings.Contains(d.Error, "Email address nope is invalid") {
		t.Errorf("dead letter field %q error %q", d.Field, d.Error)
	}
}

// HubSpot's webhooks: a bad v3 signature is refused; a notification
// repeated five times yields one update.
func TestWebhook(t *testing.T) {
	r, hs := rig(t, sim.Faults{}, 0, 200)
	rec, _ := hs.Store.Create("contacts", map[string]any{"lastname": "Ann", "email": "ann@example.com"})
	url := "http://" + r.Listen + "/webhooks/crm"
	ev := []sim.Event{{Kind: "updated", Collection: "contacts", ID: rec.ID, At: time.Now()}}
	bad := &sim.Notifier{URL: url, Scheme: webhook.HubSpotV3("wrong"), Body: sim.HubSpotEvents("contacts")}
	if st := bad.Send(context.Background(), ev); st != http.StatusUnauthorized {
		t.Fatalf("bad signature: status %d, want 401", st)
	}
	good := &sim.Notifier{URL: url, Scheme: webhook.HubSpotV3("app-secret"), Body: sim.HubSpotEvents("contacts"), Repeat: 5}
	simtest.Until(t, 10*time.Second, "the contact reaches the app", func() error {
		if len(r.App.Rows("contact")) == 1 {
			return nil
		}
		return fmt.Errorf("app has %d", len(r.App.Rows("contact")))
	})
	var gid string
	for k := range r.App.Rows("contact") {
		gid = k
	}
	if _, err := hs.Store.Update("contacts", rec.ID, map[string]any{"lastname": "Ann Smith"}); err != nil {
		t.Fatal(err)
	}
	if st := good.Send(context.Background(), ev); st != http.StatusOK {
		t.Fatalf("good signature: status %d, want 200", st)
	}
	simtest.Until(t, 5*time.Second, "the update reaches the app", func() error {
		if got := r.App.Rows("contact")[gid]["name"]; got != "Ann Smith" {
			return fmt.Errorf("app has %v", got)
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond) // room for any extra write to show up
	if n := r.Writes(gid); n != 2 {
		t.Errorf("%d writes to the app, want 2 (the create, and one update for five notifications)", n)
	}
}
