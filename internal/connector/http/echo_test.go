package http_test

import (
	"context"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	httpapi "github.com/tandemhub/tandem/internal/connector/http"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/sim"
)

// Writes through batch endpoints are recognised when they come back, as
// single writes are: the stamp the batch answer gives each record marks
// its next read as tandem's own write. Otherwise a write of an older
// state, read after the record moved on elsewhere, would pass for a
// newer edit of the CRM's users and undo that move.
func TestBatchWritesComeBackAsEchoes(t *testing.T) {
	crm := sim.NewCRM(sim.Faults{})
	srv := httptest.NewServer(crm)
	defer srv.Close()
	batch := func(p string) *httpapi.BatchEndpoint {
		return &httpapi.BatchEndpoint{Path: p, Body: "records", Results: "results"}
	}
	res := &httpapi.Resource{Records: "data", Updated: "updated_at", Since: map[string]string{"updated_since": "{since}"},
		SinceFormat: "rfc3339", Lookup: "tandem_id",
		Batch: &httpapi.Batch{Create: batch("/contacts/batch"), Update: batch("/contacts/batch")}}
	client, err := rest.NewClient(rest.Options{System: "crm", Base: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := httpapi.Open("crm", client, &httpapi.Settings{Resources: map[string]*httpapi.Resource{"contacts": res}},
		[]connector.Table{{Entity: "contact", Name: "contacts", Key: "id", KeyGenerated: true, Columns: []string{"name"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pos, err := s.Capture.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Capture.Resume(ctx, pos); err != nil {
		t.Fatal(err)
	}
	// read returns the change capture reads of key now, and acknowledges it.
	read := func(key string) record.Change {
		t.Helper()
		b, err := s.Capture.Changes(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Capture.Ack(ctx, b); err != nil {
			t.Fatal(err)
		}
		var got []record.Change
		for _, c := range b.Changes {
			if c.Key == key {
				got = append(got, c)
			}
		}
		if len(got) != 1 {
			t.Fatalf("capture read %d changes of %s, want 1: %+v", len(got), key, b.Changes)
		}
		return got[0]
	}
	// Each write gets a stamp of its own: the CRM's have millisecond
	// resolution, and a record's two writes in one millisecond look like one.
	apply := func(w record.Write) string {
		t.Helper()
		time.Sleep(2 * time.Millisecond)
		out, err := s.Apply(ctx, "contact", []record.Write{w})
		if err != nil || out[0].Err != nil {
			t.Fatalf("apply %+v: %v %v", w, err, out[0].Err)
		}
		return out[0].Key
	}
	key := apply(record.Write{Op: record.Upsert, GID: "g1", Fields: record.Fields{"name": "Ada"}})
	if c := read(key); !c.Echo {
		t.Errorf("tandem's batch create read back as %+v; want an echo", c)
	}
	apply(record.Write{Op: record.Upsert, Key: key, GID: "g1", Fields: record.Fields{"name": "Ada L."}})
	if c := read(key); !c.Echo {
		t.Errorf("tandem's batch update read back as %+v; want an echo", c)
	}
	time.Sleep(2 * time.Millisecond)
	if _, err := crm.Store.Update("contacts", key, map[string]any{"name": "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	if c := read(key); c.Echo {
		t.Errorf("the CRM users' update read back as %+v; want no echo", c)
	}
}

// A batch update of a record the CRM's users deleted meanwhile is Gone,
// as a single update's 404 is: their delete wins, and the write is no
// dead letter.
func TestBatchUpdateOfDeletedRecordIsGone(t *testing.T) {
	crm := sim.NewCRM(sim.Faults{})
	srv := httptest.NewServer(crm)
	defer srv.Close()
	res := &httpapi.Resource{Records: "data",
		Batch: &httpapi.Batch{Update: &httpapi.BatchEndpoint{Path: "/contacts/batch", Body: "records", Results: "results"}}}
	client, err := rest.NewClient(rest.Options{System: "crm", Base: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := httpapi.Open("crm", client, &httpapi.Settings{Resources: map[string]*httpapi.Resource{"contacts": res}},
		[]connector.Table{{Entity: "contact", Name: "contacts", Key: "id", KeyGenerated: true, Columns: []string{"name"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := crm.Store.Create("contacts", map[string]any{"name": "Ada"})
	gone, _ := crm.Store.Create("contacts", map[string]any{"name": "Bob"})
	if err := crm.Store.Delete("contacts", gone.ID); err != nil {
		t.Fatal(err)
	}
	out, err := s.Apply(context.Background(), "contact", []record.Write{
		{Op: record.Upsert, Key: kept.ID, GID: "g1", Fields: record.Fields{"name": "Ada L."}},
		{Op: record.Upsert, Key: gone.ID, GID: "g2", Fields: record.Fields{"name": "Bob B."}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Err != nil || out[0].Key != kept.ID {
		t.Errorf("update of a live record = %+v", out[0])
	}
	if !connector.IsGone(out[1].Err) {
		t.Errorf("update of a deleted record = %+v; want Gone", out[1])
	}
}

// A batch create in doubt (the hub stopped while an earlier try was in
// flight, so tandem does not know whether it happened) looks the record
// up by tandem's id first: the CRM already holding it, it is updated,
// not made a second time.
func TestBatchCreateInDoubtFindsTheRecordFirst(t *testing.T) {
	crm := sim.NewCRM(sim.Faults{})
	srv := httptest.NewServer(crm)
	defer srv.Close()
	res := &httpapi.Resource{Records: "data", Lookup: "tandem_id",
		Batch: &httpapi.Batch{Create: &httpapi.BatchEndpoint{Path: "/contacts/batch", Body: "records", Results: "results"}}}
	client, err := rest.NewClient(rest.Options{System: "crm", Base: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := httpapi.Open("crm", client, &httpapi.Settings{Resources: map[string]*httpapi.Resource{"contacts": res}},
		[]connector.Table{{Entity: "contact", Name: "contacts", Key: "id", KeyGenerated: true, Columns: []string{"name"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The earlier try made it; its answer never reached tandem.
	made, _ := crm.Store.Create("contacts", map[string]any{"name": "Ada", "tandem_id": "g1"})
	out, err := s.Apply(context.Background(), "contact", []record.Write{
		{Op: record.Upsert, GID: "g1", Doubt: true, Fields: record.Fields{"name": "Ada L."}},
		{Op: record.Upsert, GID: "g2", Fields: record.Fields{"name": "Bob"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Err != nil || out[0].Key != made.ID {
		t.Errorf("create in doubt = %+v; want the record made before, %s", out[0], made.ID)
	}
	if out[1].Err != nil || out[1].Key == "" || out[1].Key == made.ID {
		t.Errorf("fresh create = %+v", out[1])
	}
	if n := len(crm.Store.Live("contacts")); n != 2 {
		t.Errorf("the CRM holds %d contacts, want 2", n)
	}
}

// A CRM stamps records to the millisecond: a user's write in the same
// millisecond as tandem's gets the same stamp. Read back, it is the
// user's change, not tandem's echo, for its content is not what tandem
// wrote; were it taken for an echo, the user's edit would be lost.
func TestUserWriteWithTheStampOfTandemsWriteIsNoEcho(t *testing.T) {
	crm := sim.NewCRM(sim.Faults{})
	frozen := time.Now().Add(time.Minute) // later than capture begins
	crm.Store.Clock = func() time.Time { return frozen }
	srv := httptest.NewServer(crm)
	defer srv.Close()
	s, read := contactFeed(t, srv.URL, 0)
	ctx := context.Background()
	out, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, GID: "g1", Fields: record.Fields{"name": "Ada"}}})
	if err != nil || out[0].Err != nil {
		t.Fatalf("create: %v %v", err, out[0].Err)
	}
	key := out[0].Key
	if cs := read(); len(cs) != 1 || !cs[0].Echo {
		t.Fatalf("tandem's create read back as %+v; want one echo", cs)
	}
	out, err = s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, Key: key, GID: "g1", Fields: record.Fields{"name": "Ada L."}}})
	if err != nil || out[0].Err != nil {
		t.Fatalf("update: %v %v", err, out[0].Err)
	}
	// The CRM's user writes in the same millisecond.
	if _, err := crm.Store.Update("contacts", key, map[string]any{"name": "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	cs := read()
	var got *record.Change
	for i := range cs {
		if cs[i].Key == key {
			got = &cs[i]
		}
	}
	if got == nil {
		t.Fatalf("the user's write was not read: %+v", cs)
	}
	if got.Echo || got.Fields["name"] != "Ada Lovelace" {
		t.Errorf("the user's write, stamped as tandem's, read back as %+v; want the user's change", *got)
	}
}

// Capture may read a record tandem is creating after the CRM made it but
// before tandem has its answer. That read is tandem's own write (its
// content is what tandem sent), not a user's change: taken for one, it
// would carry the CRM's newer stamp and undo a newer change made
// elsewhere while the create was on its way.
func TestReadOfACreateBeforeItsAnswerIsAnEcho(t *testing.T) {
	crm := sim.NewCRM(sim.Faults{})
	var s *httpapi.System
	var during []record.Change
	var duringErr error
	ctx := context.Background()
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, req *nethttp.Request) {
		if req.Method != "POST" || !strings.HasSuffix(req.URL.Path, "/contacts") {
			crm.ServeHTTP(w, req)
			return
		}
		rec := httptest.NewRecorder()
		crm.ServeHTTP(rec, req)
		// The record is made; the answer is not yet back: capture reads.
		b, err := s.Capture.Changes(ctx, 100)
		if err == nil {
			err = s.Capture.Ack(ctx, b)
		}
		during, duringErr = b.Changes, err
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		if _, err := w.Write(rec.Body.Bytes()); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	s, _ = contactFeed(t, srv.URL, 0)
	out, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, GID: "g1", Fields: record.Fields{"name": "Ada"}}})
	if err != nil || out[0].Err != nil {
		t.Fatalf("create: %v %v", err, out[0].Err)
	}
	if duringErr != nil {
		t.Fatal(duringErr)
	}
	if len(during) != 1 || !during[0].Echo || during[0].Key != out[0].Key {
		t.Fatalf("capture read %+v while the create's answer was on its way; want tandem's echo of %s", during, out[0].Key)
	}
}

// A hub just started has made no record in the CRM yet, so no create's
// answer has shown it that the CRM stamps writes. Its updates' answers
// show it as well: their reads are echoes from the first. Before, they
// passed for the CRM users' edits until the first create, and an older
// state tandem wrote there could undo a newer change made elsewhere.
func TestUpdatesAreEchoesBeforeAnyCreate(t *testing.T) {
	crm := sim.NewCRM(sim.Faults{})
	srv := httptest.NewServer(crm)
	defer srv.Close()
	rec, err := crm.Store.Create("contacts", map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	s, read := contactFeed(t, srv.URL, 0)
	ctx := context.Background()
	read()
	time.Sleep(2 * time.Millisecond) // a stamp of its own
	out, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, Key: rec.ID, GID: "g1", Fields: record.Fields{"name": "Ada L."}, Ver: 7}})
	if err != nil || out[0].Err != nil {
		t.Fatalf("update: %v %v", err, out[0].Err)
	}
	// The echo names the version written, for the hub to weigh.
	if cs := read(); len(cs) != 1 || !cs[0].Echo || cs[0].Base != 7 {
		t.Errorf("tandem's update read back as %+v; want its echo, of version 7", cs)
	}
}

// An update whose answers are all lost has happened all the same; its
// read, later, is tandem's own write, not a CRM user's change: taken
// for one, its newer stamp would let an older state win.
func TestUpdateWhoseAnswerWasLostIsAnEcho(t *testing.T) {
	crm := sim.NewCRM(sim.Faults{LoseRate: 1})
	srv := httptest.NewServer(crm)
	defer srv.Close()
	rec, err := crm.Store.Create("contacts", map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	s, read := contactFeed(t, srv.URL, time.Millisecond)
	ctx := context.Background()
	read()
	time.Sleep(2 * time.Millisecond)
	out, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, Key: rec.ID, GID: "g1", Fields: record.Fields{"name": "Ada L."}, Ver: 9}})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Err == nil {
		t.Fatal("every answer was lost, yet the update succeeded")
	}
	if cs := read(); len(cs) != 1 || !cs[0].Echo || cs[0].Base != 9 {
		t.Errorf("tandem's update, its answers lost, read back as %+v; want its echo, of version 9", cs)
	}
}

// contactFeed opens the http connector on the CRM simulator at base with
// contacts captured by updated_at and looked up by tandem_id, begins
// capture, and returns it with read: one batch of changes, acknowledged.
// backoff, when set, is the client's first retry delay.
func contactFeed(t *testing.T, base string, backoff time.Duration) (*httpapi.System, func() []record.Change) {
	t.Helper()
	return contactFeedOf(t, base, contactsResource(), backoff)
}

// contactsResource is how the tests read the CRM simulator's contacts:
// by updated_at, looked up by tandem_id.
func contactsResource() *httpapi.Resource {
	return &httpapi.Resource{Records: "data", Updated: "updated_at", Since: map[string]string{"updated_since": "{since}"},
		SinceFormat: "rfc3339", Lookup: "tandem_id"}
}

// contactFeedOf is contactFeed with the contacts read as res says.
func contactFeedOf(t *testing.T, base string, res *httpapi.Resource, backoff time.Duration) (*httpapi.System, func() []record.Change) {
	t.Helper()
	s := openContacts(t, "crm", base+"/v1", res, backoff)
	pos, err := s.Capture.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	read := resumeAt(t, s, pos)
	return s, func() []record.Change {
		t.Helper()
		_, cs := read()
		return cs
	}
}

// openContacts opens the http connector, as system, on the contacts of
// the API at base, read as res says.
func openContacts(t *testing.T, system, base string, res *httpapi.Resource, backoff time.Duration) *httpapi.System {
	t.Helper()
	client, err := rest.NewClient(rest.Options{System: system, Base: base, Backoff: backoff})
	if err != nil {
		t.Fatal(err)
	}
	s, err := httpapi.Open(system, client, &httpapi.Settings{Resources: map[string]*httpapi.Resource{"contacts": res}},
		[]connector.Table{{Entity: "contact", Name: "contacts", Key: "id", KeyGenerated: true, Columns: []string{"name"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// resumeAt resumes s's capture at pos and returns read: one batch of
// changes, acknowledged.
func resumeAt(t *testing.T, s *httpapi.System, pos connector.Position) func() (connector.Batch, []record.Change) {
	t.Helper()
	ctx := context.Background()
	if err := s.Capture.Resume(ctx, pos); err != nil {
		t.Fatal(err)
	}
	return func() (connector.Batch, []record.Change) {
		t.Helper()
		b, err := s.Capture.Changes(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Capture.Ack(ctx, b); err != nil {
			t.Fatal(err)
		}
		return b, b.Changes
	}
}

// An update whose answer was lost is read back once as tandem's own
// write. A user who then saves the record as that write left it makes a
// change of their own, at a later stamp: it is no echo. Taken for one,
// an older state tandem sends next would undo the user's save.
func TestUserSavingWhatAnUnansweredWriteSavedIsNoEcho(t *testing.T) {
	crm := sim.NewCRM(sim.Faults{LoseRate: 1})
	srv := httptest.NewServer(crm)
	defer srv.Close()
	rec, err := crm.Store.Create("contacts", map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	s, read := contactFeed(t, srv.URL, time.Millisecond)
	ctx := context.Background()
	read()
	time.Sleep(2 * time.Millisecond)
	out, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, Key: rec.ID, GID: "g1", Fields: record.Fields{"name": "Ada L."}, Ver: 9}})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Err == nil {
		t.Fatal("every answer was lost, yet the update succeeded")
	}
	if cs := read(); len(cs) != 1 || !cs[0].Echo {
		t.Fatalf("tandem's update, its answers lost, read back as %+v; want its echo", cs)
	}
	// A user changes the record and saves it back as tandem's write had it.
	for _, name := range []string{"Ada (user)", "Ada L."} {
		time.Sleep(2 * time.Millisecond) // a later millisecond stamp
		if _, err := crm.Store.Update("contacts", rec.ID, map[string]any{"name": name}); err != nil {
			t.Fatal(err)
		}
	}
	if cs := read(); len(cs) != 1 || cs[0].Echo || cs[0].Fields["name"] != "Ada L." {
		t.Errorf("the user's save read back as %+v; want the user's change, no echo", cs)
	}
}

// A CRM that stamps to the millisecond may give tandem's update the very
// stamp the record had when tandem looked at it. The update is tandem's
// own write all the same: read back, it is an echo, not a user's change
// (which, of an older version than the record's, would undo newer edits
// made elsewhere).
func TestUpdateKeepingTheStampIsAnEcho(t *testing.T) {
	crm := sim.NewCRM(sim.Faults{})
	frozen := time.Now().Add(time.Minute) // later than capture begins
	crm.Store.Clock = func() time.Time { return frozen }
	rec, err := crm.Store.Create("contacts", map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(crm)
	defer srv.Close()
	s, read := contactFeed(t, srv.URL, 0)
	ctx := context.Background()
	if cs := read(); len(cs) != 1 || cs[0].Echo {
		t.Fatalf("the user's record read as %+v", cs)
	}
	out, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, Key: rec.ID, GID: "g1", Fields: record.Fields{"name": "Ada L."}, Ver: 6}})
	if err != nil || out[0].Err != nil {
		t.Fatalf("update: %v %v", err, out[0].Err)
	}
	if cs := read(); len(cs) != 1 || !cs[0].Echo || cs[0].Base != 6 {
		t.Errorf("tandem's update, at the stamp the record had, read back as %+v; want its echo, of version 6", cs)
	}
}
