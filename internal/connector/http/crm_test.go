package http_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/sim"
	"github.com/tandemhub/tandem/internal/sim/simtest"
)

// allDelivered waits until the CRM holds every seeded contact exactly
// once and nothing is pending, then checks there is no dead letter.
func (r *rig) allDelivered(n int, limit time.Duration) {
	r.t.Helper()
	simtest.Until(r.t, limit, "every contact reaches the CRM once", func() error {
		byEmail, err := r.crmByEmail()
		if err != nil {
			r.t.Fatal(err) // a duplicate never heals
		}
		if len(byEmail) != n {
			return fmt.Errorf("CRM holds %d of %d contacts", len(byEmail), n)
		}
		if p, _, _ := r.status(); p != 0 {
			return fmt.Errorf("%d pending", p)
		}
		return nil
	})
	if _, _, dead := r.status(); dead != 0 {
		r.t.Errorf("%d dead letters", dead)
	}
	byEmail, _ := r.crmByEmail()
	for i := range n {
		e := fmt.Sprintf("p%d@example.com", i)
		if got := byEmail[e]; got == nil || got["name"] != fmt.Sprintf("Person %d", i) || got["tandem_id"] == nil {
			r.t.Errorf("CRM contact %s = %v", e, got)
		}
	}
}

// A sustained 429 storm: the CRM accepts 60 requests a second and tandem
// has no limit of its own. Delivery slows to about the allowed rate,
// every record arrives once, nothing is dead-lettered.
func TestRateLimitStorm(t *testing.T) {
	const n, allowed = 240, 60.0
	start := time.Now()
	r := newRig(t, sim.Faults{Rate: allowed, Burst: 5}, "", n)
	r.allDelivered(n, 60*time.Second)
	took := time.Since(start)
	st := r.crm.Stats()
	accepted := float64(st.Requests-st.Limited) / took.Seconds()
	t.Logf("%d records in %s: %d requests, %d refused with 429, %.0f accepted/s of %.0f allowed",
		n, took.Round(time.Millisecond), st.Requests, st.Limited, accepted, allowed)
	if st.Limited == 0 {
		t.Error("the CRM never refused a request: no storm was tested")
	}
	if accepted > allowed*1.15 {
		t.Errorf("accepted %.0f requests/s, more than the %.0f allowed", accepted, allowed)
	}
	if accepted < allowed*0.4 {
		t.Errorf("accepted only %.0f requests/s of the %.0f allowed: tandem slowed down too much", accepted, allowed)
	}
	if st.Limited > st.Requests/2 {
		t.Errorf("%d of %d requests refused: tandem kept pushing instead of slowing down", st.Limited, st.Requests)
	}
}

// 500s, lost answers and answers slower than the client's timeout: every
// request is retried or, for creates, looked up first, so each record
// arrives exactly once.
func TestServerErrorsAndTimeouts(t *testing.T) {
	const n = 80
	r := newRig(t, sim.Faults{ErrorRate: 0.2, LoseRate: 0.1, SlowRate: 0.03, Slow: 2500 * time.Millisecond}, "", n)
	r.allDelivered(n, 80*time.Second)
	st := r.crm.Stats()
	t.Logf("requests %d, 500s %d, lost answers %d, timed out %d", st.Requests, st.Failed, st.Lost, st.Slow)
	if st.Failed == 0 || st.Lost == 0 {
		t.Errorf("faults not exercised: %+v", st)
	}
}

// A create whose answer is lost half the time still makes exactly one
// record: the retry finds it by tandem's id and updates it.
func TestLostCreateAnswer(t *testing.T) {
	const n = 40
	r := newRig(t, sim.Faults{LoseRate: 0.5}, "", n)
	r.allDelivered(n, 60*time.Second)
	if st := r.crm.Stats(); st.Lost == 0 {
		t.Error("no answer was lost")
	}
}

func (r *rig) notifier(repeat int) *sim.Notifier {
	return &sim.Notifier{URL: "http://" + r.listen + "/webhooks/crm", Scheme: sim.CRMScheme(secret), Repeat: repeat}
}

// A notification signed wrongly, not signed, or signed too long ago is
// refused with 401, and nothing is fetched.
func TestWebhookBadSignature(t *testing.T) {
	r := newRig(t, sim.Faults{}, "", 0)
	rec, err := r.crm.Store.Create("contacts", map[string]any{"name": "Eve", "email": "eve@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(fmt.Sprintf(`{"events":[{"type":"created","collection":"contacts","id":%q}]}`, rec.ID))
	url := "http://" + r.listen + "/webhooks/crm"
	post := func(sign func(*http.Request)) int {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		sign(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	wrong := sim.CRMScheme("not the secret")
	stale := sim.CRMScheme(secret)
	stale.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	for name, sign := range map[string]func(*http.Request){
		"wrong secret": func(q *http.Request) { wrong.Sign(q, body) },
		"no signature": func(q *http.Request) {},
		"stale":        func(q *http.Request) { stale.Sign(q, body) },
		"tampered": func(q *http.Request) {
			sim.CRMScheme(secret).Sign(q, body)
			q.Header.Set("X-CRM-Timestamp", strconv.FormatInt(time.Now().Unix()-1, 10))
		},
	} {
		if got := post(sign); got != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, got)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if len(r.app.Rows("contact")) != 0 {
		t.Fatal("a refused notification was acted on")
	}
	if got := post(func(q *http.Request) { sim.CRMScheme(secret).Sign(q, body) }); got != http.StatusOK {
		t.Fatalf("a good signature: status %d, want 200", got)
	}
	// Answered once stored in tandem; delivered to the app right after.
	simtest.Until(t, 5*time.Second, "the notified record reaches the app", func() error {
		if n := len(r.app.Rows("contact")); n != 1 {
			return fmt.Errorf("app has %d contacts", n)
		}
		return nil
	})
}

// A notification repeated five times, and five sent at once out of
// order, each yield one update in the other system.
func TestWebhookRepeated(t *testing.T) {
	r := newRig(t, sim.Faults{}, "", 0)
	rec, err := r.crm.Store.Create("contacts", map[string]any{"name": "Ann", "email": "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ev := []sim.Event{{Kind: "created", Collection: "contacts", ID: rec.ID, At: rec.Updated}}
	if st := r.notifier(5).Send(context.Background(), ev); st != http.StatusOK {
		t.Fatalf("notification: status %d", st)
	}
	gid := ""
	simtest.Until(t, 5*time.Second, "the created contact reaches the app", func() error {
		for _, k := range keysOf(r.app.Rows("contact")) {
			gid = k
		}
		if gid == "" {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	writes := func() int {
		n, ok := r.writes.Load(gid)
		if !ok {
			return 0
		}
		return *(n.(*int))
	}
	if w := writes(); w != 1 {
		t.Fatalf("create notified 5 times: %d writes to the app, want 1", w)
	}
	if _, err := r.crm.Store.Update("contacts", rec.ID, map[string]any{"name": "Ann Smith"}); err != nil {
		t.Fatal(err)
	}
	ev[0].Kind = "updated"
	if st := r.notifier(5).Send(context.Background(), ev); st != http.StatusOK {
		t.Fatalf("notification: status %d", st)
	}
	// Five at once.
	done := make(chan int, 5)
	for range 5 {
		go func() { done <- r.notifier(1).Send(context.Background(), ev) }()
	}
	for range 5 {
		if st := <-done; st != http.StatusOK {
			t.Errorf("concurrent notification: status %d", st)
		}
	}
	simtest.Until(t, 5*time.Second, "the update reaches the app", func() error {
		if got := r.app.Rows("contact")[gid]["name"]; got != "Ann Smith" {
			return fmt.Errorf("app has name %v", got)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // room for any extra write to show up
	if w := writes(); w != 2 {
		t.Errorf("update notified 10 times: %d writes to the app in all, want 2 (one create, one update)", w)
	}
}

func keysOf(m map[string]record.Fields) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Polling by updated-at: the CRM's creates, updates and deletes reach the
// app, the app's reach the CRM, and tandem's own writes to the CRM come
// back from its listing as no-ops, never written back to the app.
func TestPollBothWays(t *testing.T) {
	r := newRig(t, sim.Faults{}, pollYAML, 3)
	r.allDelivered(3, 20*time.Second)
	// The CRM's own users.
	a, _ := r.crm.Store.Create("contacts", map[string]any{"name": "Cat", "email": "cat@example.com"})
	b, _ := r.crm.Store.Create("contacts", map[string]any{"name": "Dan", "email": "dan@example.com"})
	simtest.Until(t, 10*time.Second, "CRM creates reach the app", func() error {
		if n := len(r.app.Rows("contact")); n != 5 {
			return fmt.Errorf("app has %d contacts", n)
		}
		return nil
	})
	if _, err := r.crm.Store.Update("contacts", a.ID, map[string]any{"name": "Catherine"}); err != nil {
		t.Fatal(err)
	}
	if err := r.crm.Store.Delete("contacts", b.ID); err != nil {
		t.Fatal(err)
	}
	simtest.Until(t, 10*time.Second, "CRM update and delete reach the app", func() error {
		rows := r.app.Rows("contact")
		names := map[string]bool{}
		for _, f := range rows {
			names[fmt.Sprint(f["name"])] = true
		}
		if len(rows) != 4 || !names["Catherine"] || names["Dan"] {
			return fmt.Errorf("app has %v", rows)
		}
		return nil
	})
	// The app's users.
	r.app.Put("contact", "a0001", record.Fields{"name": "Person One", "email": "p1@example.com"})
	r.app.Delete("contact", "a0002")
	simtest.Until(t, 10*time.Second, "app update and delete reach the CRM", func() error {
		byEmail, err := r.crmByEmail()
		if err != nil {
			return err
		}
		if byEmail["p1@example.com"]["name"] != "Person One" || byEmail["p2@example.com"] != nil {
			return fmt.Errorf("CRM has %v", byEmail)
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond)
	// No echo: records that came from the app were never written back to it.
	r.keyWrites.Range(func(k, v any) bool {
		if *(v.(*int)) > 0 && len(k.(string)) == 5 && k.(string)[0] == 'a' {
			t.Errorf("app record %s was written back to the app %d times (echo)", k, *(v.(*int)))
		}
		return true
	})
	if _, _, dead := r.status(); dead != 0 {
		t.Errorf("%d dead letters", dead)
	}
}
