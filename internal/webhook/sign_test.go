package webhook

import (
	"bytes"
	"net/http"
	"net/http/httptest"
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
