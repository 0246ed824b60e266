package salesforce_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/sim"
	"github.com/tandemhub/tandem/internal/sim/simtest"
)

const system = `    type: salesforce
    dsn: %s
    poll: 20ms
    batch: 200
    salesforce:
      auth: {bearer: sf-token}
      timeout: 2s
      max_wait: 1m
      external_id: Tandem_Id__c`

const mapping = `      table: Contact
      key: Id
      key_generated: true
      fields: {name: LastName, email: Email, tier: Tier__c}`

func rig(t *testing.T, f sim.Faults, seed int) (*simtest.Rig, *sim.Salesforce) {
	return rigBatch(t, f, seed, 200)
}

func rigBatch(t *testing.T, f sim.Faults, seed, batch int) (*simtest.Rig, *sim.Salesforce) {
	org := sim.NewSalesforce(f)
	org.Token = "sf-token"
	sys := strings.Replace(system, "batch: 200", fmt.Sprintf("batch: %d", batch), 1)
	return simtest.New(t, simtest.Options{Handler: org, System: sys, Mapping: mapping, Seed: seed}), org
}

func byEmail(org *sim.Salesforce) (map[string]map[string]any, error) {
	return org.Store.LiveBy("Contact", "Email", "Id")
}

func delivered(t *testing.T, r *simtest.Rig, org *sim.Salesforce, n int) {
	t.Helper()
	simtest.Until(t, 60*time.Second, "every contact reaches Salesforce once", func() error {
		m, err := byEmail(org)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != n {
			return fmt.Errorf("Salesforce holds %d of %d", len(m), n)
		}
		if p, _, _ := r.Status(); p != 0 {
			return fmt.Errorf("%d pending", p)
		}
		return nil
	})
	m, _ := byEmail(org)
	for i := range n {
		c := m[fmt.Sprintf("p%d@example.com", i)]
		if c["LastName"] != fmt.Sprintf("Person %d", i) || c["Tier__c"] != "gold" || c["Tandem_Id__c"] == nil {
			t.Errorf("contact %d = %v", i, c)
		}
	}
	if d := r.Dead(); len(d) > 0 {
		t.Errorf("dead letters: %v", d)
	}
}

// Contacts flow both ways, custom field included: the org's creates,
// updates and deletes (seen through queryAll's IsDeleted) reach the app,
// the app's reach the org, and nothing echoes back.
func TestBothWays(t *testing.T) {
	r, org := rig(t, sim.Faults{}, 3)
	delivered(t, r, org, 3)
	a, err := org.Store.Create("Contact", map[string]any{"LastName": "Cat", "Email": "cat@example.com", "Tier__c": "silver"})
	if err != nil {
		t.Fatal(err)
	}
	simtest.Until(t, 10*time.Second, "a Salesforce create reaches the app", func() error {
		for _, f := range r.App.Rows("contact") {
			if f["email"] == "cat@example.com" && f["tier"] == "silver" {
				return nil
			}
		}
		return fmt.Errorf("app has %v", r.App.Rows("contact"))
	})
	if _, err := org.Store.Update("Contact", a.ID, map[string]any{"LastName": "Catherine"}); err != nil {
		t.Fatal(err)
	}
	m, _ := byEmail(org)
	if err := org.Store.Delete("Contact", fmt.Sprint(m["p2@example.com"]["Id"])); err != nil {
		t.Fatal(err)
	}
	r.App.Put("contact", "a0001", record.Fields{"name": "Person One", "email": "p1@example.com", "tier": "platinum"})
	simtest.Until(t, 10*time.Second, "edits on both sides agree", func() error {
		rows := r.App.Rows("contact")
		names := map[string]string{}
		for _, f := range rows {
			names[fmt.Sprint(f["email"])] = fmt.Sprint(f["name"])
		}
		m, _ := byEmail(org)
		if len(rows) != 3 || names["cat@example.com"] != "Catherine" || names["p2@example.com"] != "" ||
			m["p1@example.com"]["Tier__c"] != "platinum" {
			return fmt.Errorf("app %v, org %v", names, m)
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

// REQUEST_LIMIT_EXCEEDED storms, 500s and lost answers: upserts by the
// External ID make every retried create land on one record.
func TestLimitsAndFailures(t *testing.T) {
	const n = 150
	r, org := rigBatch(t, sim.Faults{Rate: 20, Burst: 2, ErrorRate: 0.15, LoseRate: 0.15, Seed: 11}, n, 5)
	delivered(t, r, org, n)
	st := org.Stats()
	t.Logf("%+v", st)
	if st.Limited == 0 || st.Failed == 0 || st.Lost == 0 {
		t.Errorf("faults not exercised: %+v", st)
	}
}

// A record Salesforce refuses for a field is dead-lettered with the
// field and Salesforce's own message; the others go through.
func TestFieldError(t *testing.T) {
	r, org := rig(t, sim.Faults{}, 2)
	r.App.Put("contact", "bad", record.Fields{"name": "Bad", "email": "not-an-address", "tier": "x"})
	simtest.Until(t, 15*time.Second, "the bad record is dead-lettered", func() error {
		if len(r.Dead()) == 0 {
			return fmt.Errorf("no dead letter yet")
		}
		return nil
	})
	d := r.Dead()[0]
	if d.Field != "Email" || !strings.Contains(d.Error, "INVALID_EMAIL_ADDRESS") || !strings.Contains(d.Error, "invalid email address: not-an-address") {
		t.Errorf("dead letter field %q error %q", d.Field, d.Error)
	}
	m, _ := byEmail(org)
	if len(m) != 2 {
		t.Errorf("Salesforce holds %d contacts, want the 2 good ones", len(m))
	}
}
