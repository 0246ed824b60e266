package webhook

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	body := []byte(`{"events":[{"id":"1"}]}`)
	s := Scheme{Secret: []byte("k"), Header: "X-Sig", Prefix: "sha256=", Timestamp: "X-Ts"}
	sign := func(s Scheme) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "http://hub/webhooks/crm", bytes.NewReader(body))
		s.Sign(r, body)
		return r
	}
	if err := s.Verify(sign(s), body); err != nil {
		t.Errorf("good signature: %v", err)
	}
	wrong := s
	wrong.Secret = []byte("other")
	old := s
	old.Now = func() time.Time { return time.Now().Add(-10 * time.Minute) }
	for name, r := range map[string]*http.Request{"wrong key": sign(wrong), "stale": sign(old),
		"unsigned": httptest.NewRequest(http.MethodPost, "http://hub/x", nil)} {
		if err := s.Verify(r, body); !IsSignature(err) {
			t.Errorf("%s: %v, want a signature error", name, err)
		}
	}
	if err := s.Verify(sign(s), append(body, ' ')); !IsSignature(err) {
		t.Errorf("tampered body: %v", err)
	}
}

func TestHubSpotV3(t *testing.T) {
	body := []byte(`[{"objectId":1}]`)
	s := HubSpotV3("secret")
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7070/webhooks/crm", bytes.NewReader(body))
	s.Sign(r, body)
	if err := s.Verify(r, body); err != nil {
		t.Errorf("round trip: %v", err)
	}
	r.Host = "elsewhere"
	if err := s.Verify(r, body); !IsSignature(err) {
		t.Errorf("another URI: %v, want refused", err)
	}
}

// A signature is the MAC's bytes: hex is read in either case, base64 as
// written, where a letter in the other case is another signature.
func TestSignatureSpelling(t *testing.T) {
	body := []byte(`{"id":"1"}`)
	for _, enc := range []string{"hex", "base64"} {
		s := Scheme{Secret: []byte("k"), Header: "X-Sig", Encoding: enc}
		r := httptest.NewRequest(http.MethodPost, "http://hub/webhooks/crm", bytes.NewReader(body))
		s.Sign(r, body)
		sig := r.Header.Get("X-Sig")
		upper := strings.ToUpper(sig)
		r.Header.Set("X-Sig", upper)
		err := s.Verify(r, body)
		switch {
		case enc == "hex" && err != nil:
			t.Errorf("hex in capitals: %v", err)
		case enc == "base64" && upper != sig && !IsSignature(err):
			t.Errorf("base64 %q in capitals (%q) passed: %v", sig, upper, err)
		}
	}
}
