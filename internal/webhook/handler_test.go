package webhook

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A body over the limit is answered 413 whether or not its length was
// announced, and neither its signature nor its notices are looked at; a
// body of exactly the limit gets through.
func TestBodyLimit(t *testing.T) {
	const limit = 64
	parsed := 0
	s := Scheme{Secret: []byte("k"), Header: "X-Sig"}
	h := &Handler{System: "crm", Scheme: s, Limit: limit,
		Parse:  func([]byte) ([]Notice, error) { parsed++; return nil, nil },
		Notify: func(string, string) <-chan struct{} { t.Error("notified"); return nil }}
	for _, tc := range []struct {
		name    string
		size    int
		chunked bool
		want    int
	}{
		{"announced, one byte over", limit + 1, false, http.StatusRequestEntityTooLarge},
		{"chunked, one byte over", limit + 1, true, http.StatusRequestEntityTooLarge},
		{"chunked, far over", 10 * limit, true, http.StatusRequestEntityTooLarge},
		{"exactly the limit", limit, false, http.StatusOK},
		{"chunked, exactly the limit", limit, true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parsed = 0
			body := []byte(strings.Repeat("x", tc.size))
			var rd io.Reader = bytes.NewReader(body)
			if tc.chunked {
				rd = io.MultiReader(rd) // hides the length
			}
			r := httptest.NewRequest(http.MethodPost, "http://hub/webhooks/crm", rd)
			if tc.chunked {
				r.ContentLength = -1
			}
			s.Sign(r, body)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if tooLarge := tc.want == http.StatusRequestEntityTooLarge; tooLarge != (parsed == 0) {
				t.Errorf("parsed %d times", parsed)
			}
		})
	}
}
