package http_test

import (
	"context"
	"testing"
	"time"

	httpapi "github.com/tandemhub/tandem/internal/connector/http"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// A hub made a record in json-server and stopped before it kept the
// key (a crash between the answer and the store); its delete scan had
// listed the record, with the global id it carries. While no hub ran,
// the shop's users deleted it. The next hub, from the stored position,
// neither makes it again (undoing their delete) nor forgets the delete:
// the create in doubt is gone, and the scan reports the delete of that
// record by its global id, though no key of it was ever linked.
func TestRecordMadeByACrashedHubAndDeletedSinceStaysDeleted(t *testing.T) {
	js := startJSONServer(t, map[string][]map[string]any{"contacts": {}})
	res := shopResource()
	res.Deletes = &httpapi.Deletes{Scan: config.Duration(time.Millisecond)}
	s, read := openAt(t, js.URL, "", res)
	read() // the scan's first listing: its baseline
	ctx := context.Background()
	out, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, GID: "g1", Fields: record.Fields{"name": "Ada"}, Ver: 1}})
	if err != nil || out[0].Err != nil {
		t.Fatalf("create: %v %+v", err, out)
	}
	key := out[0].Key
	time.Sleep(2 * time.Millisecond)
	b, _ := read() // the scan lists the new record
	pos := s.Capture.Position(b)

	// The hub is gone, and its key with it. A user deletes the record.
	if err := js.do("DELETE", "/contacts/"+key, nil, nil); err != nil {
		t.Fatal(err)
	}
	s2, read2 := openAt(t, js.URL, pos, res)
	out, err = s2.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, GID: "g1", Fields: record.Fields{"name": "Ada"}, Ver: 1, Doubt: true}})
	if err != nil {
		t.Fatal(err)
	}
	if !connector.IsGone(out[0].Err) {
		t.Errorf("the create in doubt of a record its users deleted: %+v; want it gone", out[0])
	}
	if n := len(js.list("contacts")); n != 0 {
		t.Errorf("json-server holds %d contacts; the deleted record was made again", n)
	}
	time.Sleep(2 * time.Millisecond)
	_, cs := read2()
	if len(cs) != 1 || cs[0].Op != record.Delete || cs[0].Key != key || cs[0].GID != "g1" {
		t.Errorf("the next hub's scan read %+v; want the delete of %s, carrying g1", cs, key)
	}
}
