package http_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	httpapi "github.com/tandemhub/tandem/internal/connector/http"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/sim"
)

// shopResource reads json-server's contacts by the updatedAt their
// application sets (json-server itself stamps nothing).
func shopResource() *httpapi.Resource {
	return &httpapi.Resource{Updated: "updatedAt", Since: map[string]string{"updatedAt_gte": "{since}"},
		Params: map[string]string{"_sort": "updatedAt,id", "_order": "asc,asc"}, Lookup: "tandem_gid"}
}

// openAt opens the http connector on base's contacts, resumed from pos
// ("" reads from two minutes ago), and returns it with a read of one batch.
func openAt(t *testing.T, base string, pos connector.Position, res *httpapi.Resource) (*httpapi.System, func() (connector.Batch, []record.Change)) {
	t.Helper()
	s := openContacts(t, "shop", base, res, 0)
	if pos == "" {
		st := rest.TimeStamp(time.Now().Add(-2 * time.Minute))
		b, err := json.Marshal(rest.Position{Feeds: map[string]*rest.Stamp{"contact": &st}})
		if err != nil {
			t.Fatal(err)
		}
		pos = connector.Position(b)
	}
	return s, resumeAt(t, s, pos)
}

// crmWithAda serves the CRM simulator with one contact, Ada, and
// returns its base URL and the contact's id.
func crmWithAda(t *testing.T) (*sim.CRM, string, string) {
	t.Helper()
	crm := sim.NewCRM(sim.Faults{})
	srv := httptest.NewServer(crm)
	t.Cleanup(srv.Close)
	rec, err := crm.Store.Create("contacts", map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	return crm, srv.URL, rec.ID
}

// rename has tandem write name, as golden version ver, to the record
// under key, and fails the test unless the API took it.
func rename(t *testing.T, s *httpapi.System, key, name string, ver int64) {
	t.Helper()
	out, err := s.Apply(context.Background(), "contact", []record.Write{{Op: record.Upsert, Key: key, GID: "g1", Fields: record.Fields{"name": name}, Ver: ver}})
	if err != nil || out[0].Err != nil {
		t.Fatalf("update: %v %+v", err, out)
	}
}

// json-server keeps a record's updatedAt when tandem writes it: the
// answer to tandem's update shows so, and the hub keeps it in the
// position. A hub started again from that position knows at once that a
// record read at a new stamp is its users' save, even one holding what an
// earlier hub's write held (which, taken for that write come back, was
// dropped: torture seed 1201).
func TestSystemThatLeavesStampingToItsUsersIsKnownAfterARestart(t *testing.T) {
	old := time.Now().Add(-time.Minute).UnixMilli()
	js := startJSONServer(t, map[string][]map[string]any{
		"contacts": {{"id": 1, "name": "Ada", "updatedAt": old}},
	})
	s, read := openAt(t, js.URL, "", shopResource())
	if _, cs := read(); len(cs) != 1 || cs[0].UsersStamp {
		t.Fatalf("the first read, before any write of tandem's: %+v; want one change, stamping unknown", cs)
	}
	rename(t, s, "1", "Ada L.", 4)
	b, _ := read()
	pos := s.Capture.Position(b)

	// The hub stops; a user saves the record as tandem's write left it.
	if err := js.do("PATCH", "/contacts/1", map[string]any{"name": "Ada L.", "updatedAt": time.Now().UnixMilli()}, nil); err != nil {
		t.Fatal(err)
	}
	_, read2 := openAt(t, js.URL, pos, shopResource())
	_, cs := read2()
	if len(cs) != 1 || cs[0].Fields["name"] != "Ada L." || !cs[0].UsersStamp || cs[0].Echo {
		t.Fatalf("the user's save, read by the next hub: %+v; want it marked as its users' stamp", cs)
	}
}

// A system that stamps every write (the CRM simulator) is learnt as
// such: its reads are never marked as its users' alone.
func TestSystemThatStampsTandemsWritesIsNotMarked(t *testing.T) {
	crm, url, id := crmWithAda(t)
	s, read := contactFeed(t, url, 0)
	read()
	time.Sleep(2 * time.Millisecond)
	rename(t, s, id, "Ada L.", 4)
	time.Sleep(2 * time.Millisecond)
	if _, err := crm.Store.Update("contacts", id, map[string]any{"name": "Ada (user)"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range read() {
		if c.UsersStamp {
			t.Errorf("a read of a system that stamps tandem's writes is marked as its users' stamp: %+v", c)
		}
	}
}

// An update of a record that had no value of the condition's field when
// tandem looked carries the condition as null: the record must have none
// still. (Plain json-server stores the field, which shows what was sent.)
func TestConditionOfARecordWithoutItsFieldIsNull(t *testing.T) {
	js := startJSONServer(t, map[string][]map[string]any{"contacts": {{"id": 1, "name": "Ada"}}})
	res := shopResource()
	res.Condition = &httpapi.Condition{Field: "if_updatedAt", From: "updatedAt"}
	s, _ := openAt(t, js.URL, "", res)
	rename(t, s, "1", "Ada L.", 2)
	recs := js.list("contacts")
	v, sent := recs[0]["if_updatedAt"]
	if !sent || v != nil || recs[0]["name"] != "Ada L." {
		t.Errorf("json-server holds %v; want the update with if_updatedAt null", recs[0])
	}
}

// The hub writes a record, reads its echo back and is killed. The next
// hub's feed reads again what falls in the overlap: the echo, at the
// CRM's stamp of tandem's write. Without the position's note that it was
// read at that stamp, the next hub, which never made the write, took it
// for the users' change (torture seed 63: an older state tandem had sent
// late undid a queue user's newer edit everywhere).
func TestOverlapReadAgainAfterARestartIsNoNews(t *testing.T) {
	_, url, id := crmWithAda(t)
	s, read := contactFeed(t, url, 0)
	ctx := context.Background()
	read()
	time.Sleep(2 * time.Millisecond)
	rename(t, s, id, "Ada L.", 4)
	b, err := s.Capture.Changes(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Changes) != 1 || !b.Changes[0].Echo {
		t.Fatalf("tandem's write read back as %+v; want its echo", b.Changes)
	}
	pos := s.Capture.Position(b)
	if err := s.Capture.Ack(ctx, b); err != nil {
		t.Fatal(err)
	}

	next, read := contactFeed(t, url, 0)
	if err := next.Capture.Resume(ctx, pos); err != nil {
		t.Fatal(err)
	}
	if cs := read(); len(cs) != 0 {
		t.Errorf("the next hub read %+v again; the record is as the last hub acknowledged it", cs)
	}
}

// Each answered update is announced with the version the CRM gave it,
// the one capture's read of the write then carries.
func TestAnsweredUpdateIsAnnouncedWithTheVersionItIsReadAt(t *testing.T) {
	_, url, id := crmWithAda(t)
	s, read := contactFeed(t, url, 0)
	var got []int64
	s.AnnounceAnswered(func(entity, gid string, stamp int64) {
		if entity == "contact" && gid == "g1" {
			got = append(got, stamp)
		}
	})
	read()
	time.Sleep(2 * time.Millisecond)
	rename(t, s, id, "Ada L.", 4)
	cs := read()
	if len(got) != 1 || len(cs) != 1 || cs[0].Version != got[0] {
		t.Errorf("announced %v; the write read back as %+v: want one announcement of its version", got, cs)
	}
}
