package rest

import (
	"context"
	"testing"

	"github.com/tandemhub/tandem/internal/connector"
)

// FuzzParseStamp: any text is a stamp or an error, never a panic; a
// stamp read again from its raw text is the same stamp.
func FuzzParseStamp(f *testing.F) {
	for _, s := range []string{"2024-05-06T07:08:09.123Z", "1714979289", "1714979289123", "17", "-3", "1e400", "2024-05-06 07:08:09.5+02:00", "NaN", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStamp(s)
		if err != nil {
			return
		}
		again, err := ParseStamp(st.Raw)
		if err != nil || again != st {
			t.Fatalf("stamp %+v read again from %q gives %+v, %v", st, st.Raw, again, err)
		}
	})
}

// FuzzDecodeError: any error answer decodes to an APIError of its status
// that says something, whatever the body holds.
func FuzzDecodeError(f *testing.F) {
	f.Add(400, []byte(`{"error":{"code":"invalid_field","message":"bad","field":"email"}}`))
	f.Add(422, []byte(`{"errors":[{"path":["a","b"],"message":"x"},{"field":3}]}`))
	f.Add(500, []byte(`[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"slow down","fields":null}]`))
	f.Add(404, []byte(`not json`))
	f.Add(429, []byte(`{"error":null,"errors":{}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := DecodeError(status, body)
		if e == nil || e.Status != status {
			t.Fatalf("DecodeError(%d, %q) = %+v", status, body, e)
		}
		if e.Error() == "" {
			t.Fatalf("DecodeError(%d, %q) says nothing", status, body)
		}
	})
}

// FuzzResume: a stored position that is damaged or made up is refused
// or taken, never a panic.
func FuzzResume(f *testing.F) {
	f.Add(`{"feeds":{"contacts":{"raw":"17","order":17}},"scans":{"contacts-deletes":["a","b"]}}`)
	f.Add(`{"feeds":{"contacts":null},"scans":{"contacts-deletes":null}}`)
	f.Add(`{}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, pos string) {
		c := &Capture{System: "crm", Feeds: []*Feed{{Name: "contacts"}}, Scans: []*Scan{{Name: "contacts-deletes"}}}
		_ = c.Resume(context.Background(), connector.Position(pos))
	})
}
