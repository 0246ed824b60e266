package queue

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/broker/brokertest"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/contract"
	"github.com/tandemhub/tandem/internal/record"
)

var tables = []connector.Table{
	{Entity: "contact", Name: "customer", Key: "id", KeyGenerated: true, Columns: []string{"name", "email", "account_id"}},
	{Entity: "account", Name: "company", Key: "code", Columns: []string{"title"}},
}

func newTestSystem(t *testing.T) (*System, *brokertest.Fake) {
	t.Helper()
	f := brokertest.New()
	cfg := Settings{Broker: "rabbitmq", URL: "amqp://x"}.Resolved("shop")
	s, err := open("shop", cfg, f, tables, nil, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

const out = "tandem.shop.changes"

// change renders a change message from the shop.
func change(id, entity, op, key string, version int64, fields string, extra ...string) string {
	s := fmt.Sprintf(`{"contract":1,"type":"change","id":%q,"system":"shop","entity":%q,"op":%q,"key":%q,"version":%d`,
		id, entity, op, key, version)
	if op == "upsert" {
		s += `,"fields":` + fields
	}
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

func keysOf(cs []record.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s:%s@%d", c.Entity, c.Key, c.Version))
	}
	return out
}

func TestQueueChangesAndAck(t *testing.T) {
	s, f := newTestSystem(t)
	ctx := context.Background()
	f.Put(out, "m1", change("m1", "company", "upsert", "ACME", 1, `{"title":"Acme"}`))
	f.Put(out, "m2", change("m2", "customer", "upsert", "7", 2, `{"name":"Ann","email":"a@x","account_id":"ACME","shoe_size":42}`))
	f.Put(out, "m3", change("m3", "customer", "delete", "8", 3, ""))
	b, err := s.Changes(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []record.Change{
		{System: "shop", Entity: "account", Key: "ACME", Op: record.Upsert, Version: 1, Fields: record.Fields{"title": "Acme"}},
		{System: "shop", Entity: "contact", Key: "7", Op: record.Upsert, Version: 2,
			Fields: record.Fields{"name": "Ann", "email": "a@x", "account_id": "ACME"}}, // shoe_size is not mapped
		{System: "shop", Entity: "contact", Key: "8", Op: record.Delete, Version: 3},
	}
	for i := range b.Changes {
		b.Changes[i].At = time.Time{}
	}
	if diff := cmp.Diff(want, b.Changes); diff != "" {
		t.Fatalf("changes (-want +got):\n%s", diff)
	}
	// Nothing is acknowledged before Ack; asking again gives the same batch.
	if got := f.Acked(out); len(got) != 0 {
		t.Fatalf("acknowledged before Ack: %v", got)
	}
	again, err := s.Changes(ctx, 10)
	if err != nil || len(again.Changes) != 3 {
		t.Fatalf("second read before Ack: %v %v", keysOf(again.Changes), err)
	}
	if err := s.Ack(ctx, again); err != nil {
		t.Fatal(err)
	}
	if got := f.Acked(out); !cmp.Equal(got, []string{"m1", "m2", "m3"}) {
		t.Fatalf("acknowledged %v", got)
	}
	if b, _ := s.Changes(ctx, 10); len(b.Changes) != 0 {
		t.Fatalf("after Ack: %v", keysOf(b.Changes))
	}
}

func TestQueueCopiesAreDropped(t *testing.T) {
	s, f := newTestSystem(t)
	ctx := context.Background()
	m1 := change("m1", "customer", "upsert", "7", 1, `{"name":"Ann"}`)
	f.Put(out, "m1", m1)
	f.Put(out, "m1", m1) // published twice (a lost confirm)
	b, err := s.Changes(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Changes) != 1 {
		t.Fatalf("a message and its copy made %d changes", len(b.Changes))
	}
	if err := s.Ack(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := f.Acked(out); len(got) != 2 {
		t.Fatalf("both copies should be acknowledged, got %v", got)
	}
	// The broker gives it once more (an acknowledgement lost in an outage).
	f.Put(out, "m1", m1)
	f.Put(out, "m2", change("m2", "customer", "upsert", "8", 2, `{"name":"Bo"}`))
	b, _ = s.Changes(ctx, 10)
	if got := keysOf(b.Changes); !cmp.Equal(got, []string{"contact:8@2"}) {
		t.Fatalf("after a redelivery got %v, want only the new change", got)
	}
	if got := f.Acked(out); len(got) != 3 {
		t.Fatalf("the copy should be acknowledged at once, acked %v", got)
	}
}

func TestQueueRedeliveryBeforeAckJoinsPending(t *testing.T) {
	s, f := newTestSystem(t)
	ctx := context.Background()
	f.Put(out, "m1", change("m1", "customer", "upsert", "7", 1, `{"name":"Ann"}`))
	b, _ := s.Changes(ctx, 10)
	f.Redeliver(out) // the connection dropped while the hub was storing b
	b2, _ := s.Changes(ctx, 10)
	if len(b2.Changes) != 1 {
		t.Fatalf("got %v", keysOf(b2.Changes))
	}
	if err := s.Ack(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := f.Acked(out); len(got) != 1 {
		t.Fatalf("acked %v", got)
	}
}

func TestQueueOrderAndVersions(t *testing.T) {
	s, f := newTestSystem(t)
	ctx := context.Background()
	f.Put(out, "a1", change("a1", "company", "upsert", "ACME", 10, `{"title":"Acme"}`))
	f.Put(out, "c1", change("c1", "customer", "upsert", "7", 11, `{"name":"Ann","account_id":"ACME"}`))
	f.Put(out, "a2", change("a2", "company", "upsert", "ACME", 12, `{"title":"Acme Ltd"}`))
	b, _ := s.Changes(ctx, 10)
	// One change per record, at its first place (the parent stays first), newest state.
	if got := keysOf(b.Changes); !cmp.Equal(got, []string{"account:ACME@12", "contact:7@11"}) {
		t.Fatalf("got %v", got)
	}
	if b.Changes[0].Fields["title"] != "Acme Ltd" {
		t.Errorf("title %v", b.Changes[0].Fields["title"])
	}
	if err := s.Ack(ctx, b); err != nil {
		t.Fatal(err)
	}
	// An older version that comes late (a redelivery overtaken) is dropped and released.
	f.Put(out, "a0", change("a0", "company", "upsert", "ACME", 9, `{"title":"Old"}`))
	f.Put(out, "a3", change("a3", "company", "upsert", "ACME", 13, `{"title":"New"}`))
	b, _ = s.Changes(ctx, 10)
	if got := keysOf(b.Changes); !cmp.Equal(got, []string{"account:ACME@13"}) {
		t.Fatalf("got %v", got)
	}
	if got := f.Acked(out); !cmp.Equal(got, []string{"a1", "c1", "a2", "a0"}) {
		t.Fatalf("acked %v", got)
	}
}

func TestQueueEchoesAreDropped(t *testing.T) {
	s, f := newTestSystem(t)
	ctx := context.Background()
	for i := range 5 {
		id := fmt.Sprintf("e%d", i)
		f.Put(out, id, change(id, "customer", "upsert", "7", int64(20+i), `{"name":"Ann"}`, `"cause":"in-1"`))
	}
	b, err := s.Changes(ctx, 3)
	if err != nil || len(b.Changes) != 0 {
		t.Fatalf("echoes made changes: %v %v", keysOf(b.Changes), err)
	}
	// Echoes are released at once, so they never block the queue.
	if got := f.Acked(out); len(got) != 5 {
		t.Fatalf("acked %v", got)
	}
	// The echo's version counts as stored: an older change of the record is stale.
	f.Put(out, "old", change("old", "customer", "upsert", "7", 19, `{"name":"Stale"}`))
	if b, _ = s.Changes(ctx, 3); len(b.Changes) != 0 {
		t.Fatalf("stale change passed: %v", keysOf(b.Changes))
	}
}

func TestQueueRejectedBecomeReports(t *testing.T) {
	s, f := newTestSystem(t)
	ctx := context.Background()
	f.Put(out, "ok1", change("ok1", "customer", "upsert", "1", 1, `{"name":"A"}`))
	f.Put(out, "bad1", `{"contract":1,"type":"change","id":"bad1","system":"shop","entity":"customer","op":"upsert","key":"2","fields":{"name":{"first":"B"}}}`)
	f.Put(out, "bad2", change("bad2", "invoice", "delete", "3", 1, ""))
	f.Put(out, "bad3", strings.Replace(change("bad3", "customer", "delete", "4", 1, ""), `"system":"shop"`, `"system":"crm"`, 1))
	f.Put(out, "", `not json at all`)
	f.Put(out, "ok2", change("ok2", "customer", "upsert", "5", 2, `{"name":"E"}`))
	b, err := s.Changes(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(b.Changes); !cmp.Equal(got, []string{"contact:1@1", "contact:5@2"}) {
		t.Fatalf("changes %v", got)
	}
	if err := s.Ack(ctx, b); err != nil {
		t.Fatal(err)
	}
	rb, err := s.Reports(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	type brief struct{ kind, entity, key, field, reason string }
	var got []brief
	for _, r := range rb.Reports {
		got = append(got, brief{r.Kind.String(), r.Entity, r.Key, r.Field, r.Reason})
	}
	checks := []struct{ entity, key, field, reason string }{
		{"contact", "2", "name", "breaks the message contract"},
		{"", "3", "", `entity "invoice", which system "shop" does not map; mapped: company, customer`},
		{"", "4", "", `names system "crm"`},
		{"", "", "", "not JSON"},
	}
	if len(got) != len(checks) {
		t.Fatalf("reports %+v", got)
	}
	for i, c := range checks {
		g := got[i]
		if g.kind != "rejected" || g.entity != c.entity || g.key != c.key || g.field != c.field || !strings.Contains(g.reason, c.reason) {
			t.Errorf("report %d = %+v, want %+v", i, g, c)
		}
	}
	// Rejected messages stay unacknowledged until their reports are stored.
	if n := len(f.Acked(out)); n != 2 {
		t.Fatalf("acked %d", n)
	}
	if err := s.AckReports(ctx, rb); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Acked(out)); n != 6 {
		t.Fatalf("acked %d after AckReports", n)
	}
	if rb, _ = s.Reports(ctx, 10); len(rb.Reports) != 0 {
		t.Fatalf("reports again: %+v", rb.Reports)
	}
}

func TestQueueApply(t *testing.T) {
	s, f := newTestSystem(t)
	ctx := context.Background()
	res, err := s.Apply(ctx, "contact", []record.Write{
		{Op: record.Upsert, GID: "g1", Fields: record.Fields{"name": "Ann", "account_id": "ACME"}},
		{Op: record.Upsert, GID: "g2", Key: "9", Fields: record.Fields{"name": "Bo"}},
		{Op: record.Upsert, GID: "g3", Fields: record.Fields{"name": math.Inf(1)}},
		{Op: record.Delete, GID: "g4", Key: "10"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Key != "" || res[1].Key != "9" || res[3].Key != "10" || res[0].Err != nil {
		t.Errorf("results %+v", res)
	}
	var p *connector.Permanent
	if !errors.As(res[2].Err, &p) || p.Field != "name" {
		t.Errorf("write with an infinite value: %v", res[2].Err)
	}
	msgs := f.Published("tandem.shop.inbound")
	if len(msgs) != 3 {
		t.Fatalf("published %d", len(msgs))
	}
	var got []contract.Change
	for _, m := range msgs {
		c, err := contract.DecodeChange(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != m.ID {
			t.Errorf("message id %q, body id %q", m.ID, c.ID)
		}
		got = append(got, c)
	}
	if c := got[0]; c.Entity != "customer" || c.GID != "g1" || c.Key != "" || c.Fields["account_id"] != "ACME" || c.System != "shop" {
		t.Errorf("create %+v", c)
	}
	if c := got[2]; c.Op != record.Delete || c.Key != "10" || c.Fields != nil {
		t.Errorf("delete %+v", c)
	}
	// A system that takes tandem's keys gets the global id as the key of a create.
	res, err = s.Apply(ctx, "account", []record.Write{{Op: record.Upsert, GID: "g5", Fields: record.Fields{"title": "Acme"}}})
	if err != nil || res[0].Key != "g5" {
		t.Fatalf("create in a system without generated keys: %+v %v", res, err)
	}
}

func TestQueueApplyWaitsOutAnOutage(t *testing.T) {
	s, f := newTestSystem(t)
	f.SetDown(true)
	done := make(chan error, 1)
	go func() {
		_, err := s.Apply(context.Background(), "contact", []record.Write{{Op: record.Upsert, GID: "g1", Fields: record.Fields{}}})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Apply returned during the outage: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	f.SetDown(false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A publish that fails mid-way is sent again.
	f.FailPublishes = 2
	if _, err := s.Apply(context.Background(), "contact", []record.Write{{Op: record.Upsert, GID: "g2", Fields: record.Fields{}}}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Published("tandem.shop.inbound")); n != 2 {
		t.Fatalf("published %d", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	f.SetDown(true)
	if _, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, GID: "g3", Fields: record.Fields{}}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply with an ending context: %v", err)
	}
}

func TestQueueChangesDuringOutage(t *testing.T) {
	s, f := newTestSystem(t)
	f.SetDown(true)
	_, err := s.Changes(context.Background(), 10)
	if err == nil || !strings.Contains(err.Error(), `queue system "shop"`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Reports(context.Background(), 10); err == nil {
		t.Fatal("Reports during an outage: no error")
	}
}

func TestQueueResults(t *testing.T) {
	s, f := newTestSystem(t)
	ctx := context.Background()
	rq := "tandem.shop.reports"
	put := func(r contract.Result) {
		r.System = cmpOr(r.System, "shop")
		f.Put(rq, r.ID, string(r.Append(nil)))
	}
	put(contract.Result{ID: "r1", Change: "m1", Entity: "customer", GID: "g1", Op: record.Upsert, Key: "41", Outcome: contract.Created})
	put(contract.Result{ID: "r2", Change: "m2", Entity: "customer", GID: "g2", Op: record.Upsert, Outcome: contract.Failed, Reason: "no", Field: "email"})
	put(contract.Result{ID: "r3", Change: "m3", Entity: "company", GID: "g3", Op: record.Delete, Key: "ACME", Outcome: contract.Applied})
	put(contract.Result{ID: "r4", System: "crm", Change: "m4", Entity: "company", GID: "g4", Outcome: contract.Applied})
	rb, err := s.Reports(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []connector.Report{
		{Kind: connector.Created, Entity: "contact", GID: "g1", Key: "41", Op: record.Upsert},
		{Kind: connector.Failed, Entity: "contact", GID: "g2", Op: record.Upsert, Reason: "no", Field: "email"},
		{Kind: connector.Applied, Entity: "account", GID: "g3", Key: "ACME", Op: record.Delete},
	}
	if len(rb.Reports) != 4 {
		t.Fatalf("reports %+v", rb.Reports)
	}
	if diff := cmp.Diff(want, rb.Reports[:3]); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if r := rb.Reports[3]; r.Kind != connector.Rejected || !strings.Contains(r.Reason, `names system "crm"`) {
		t.Errorf("report of another system: %+v", r)
	}
	if err := s.AckReports(ctx, rb); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Acked(rq)); n != 4 {
		t.Fatalf("acked %d", n)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestQueuePositionSurvivesRestart(t *testing.T) {
	s, f := newTestSystem(t)
	ctx := context.Background()
	f.Put(out, "m1", change("m1", "customer", "upsert", "7", 1, `{"name":"Ann"}`))
	f.Put(out, "m2", change("m2", "customer", "upsert", "8", 2, `{"name":"Bo"}`))
	b, _ := s.Changes(ctx, 10)
	pos := s.Position(b) // stored with the batch; then the hub dies before Ack
	f.Redeliver(out)

	s2, err := open("shop", s.cfg, f, tables, nil, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Resume(ctx, pos); err != nil {
		t.Fatal(err)
	}
	f.Put(out, "m3", change("m3", "customer", "upsert", "9", 3, `{"name":"Cy"}`))
	b, _ = s2.Changes(ctx, 10)
	if got := keysOf(b.Changes); !cmp.Equal(got, []string{"contact:9@3"}) {
		t.Fatalf("after a restart got %v, want only the change not stored before", got)
	}
	if err := s2.Resume(ctx, "junk"); err == nil {
		t.Error("Resume accepted a position of something else")
	}
	if p, _ := s2.Begin(ctx); s2.Resume(ctx, p) != nil {
		t.Error("Resume refused the beginning")
	}
}

func TestQueueOpenRefusesSharedTables(t *testing.T) {
	_, err := open("shop", Settings{}, brokertest.New(), []connector.Table{
		{Entity: "a", Name: "t"}, {Entity: "b", Name: "t"}}, nil, 0)
	if err == nil || !strings.Contains(err.Error(), `both map to "t"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestQueueMemo(t *testing.T) {
	m := newMemo[int, int](3)
	for i := range 10 {
		m.put(i, i)
	}
	for i := range 10 {
		_, ok := m.get(i)
		if want := i >= 6; ok != want && i < 6 {
			t.Errorf("memo kept %d", i)
		}
	}
	if _, ok := m.get(9); !ok {
		t.Error("memo forgot the newest")
	}
}

// An echo whose cause is one of tandem's message ids names the version
// tandem wrote: it comes as a change marked Echo with that Base, for the
// hub to weigh. It never takes the place of a change by the system's
// users before it in one batch: that change is stored first, and the
// echo comes in the next batch.
func TestQueueEchoesOfKnownVersionsAreWeighed(t *testing.T) {
	s, f := newTestSystem(t)
	ctx := context.Background()
	cause := messageID(41)
	if v := causeVersion(cause); v != 41 {
		t.Fatalf("causeVersion(%q) = %d", cause, v)
	}
	f.Put(out, "u1", change("u1", "customer", "upsert", "7", 30, `{"name":"Ann Lee"}`))
	f.Put(out, "e1", change("e1", "customer", "upsert", "7", 31, `{"name":"Ann"}`, fmt.Sprintf(`"cause":%q`, cause)))
	b, err := s.Changes(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Changes) != 1 || b.Changes[0].Echo || b.Changes[0].Fields["name"] != "Ann Lee" {
		t.Fatalf("first batch %+v; want the user's change alone", b.Changes)
	}
	if err := s.Ack(ctx, b); err != nil {
		t.Fatal(err)
	}
	b, err = s.Changes(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Changes) != 1 || !b.Changes[0].Echo || b.Changes[0].Base != 41 || b.Changes[0].Fields["name"] != "Ann" {
		t.Fatalf("second batch %+v; want the echo of version 41", b.Changes)
	}
	if err := s.Ack(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := f.Acked(out); !cmp.Equal(got, []string{"u1", "e1"}) {
		t.Fatalf("acked %v", got)
	}
	// A delete's echo, and an echo of an id that names no version, are dropped.
	f.Put(out, "e2", change("e2", "customer", "delete", "7", 32, "", fmt.Sprintf(`"cause":%q`, messageID(42))))
	f.Put(out, "e3", change("e3", "customer", "upsert", "8", 5, `{"name":"Bo"}`, `"cause":"in-1"`))
	if b, _ = s.Changes(ctx, 10); len(b.Changes) != 0 {
		t.Fatalf("echoes passed: %+v", b.Changes)
	}
}
