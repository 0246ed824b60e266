package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An API that quotes the credentials it refuses does not get them into
// tandem's errors.
func TestAnswerHidesCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"code": "bad " + r.Header.Get("X-Api-Key"),
			"message": fmt.Sprintf("token %q and key %q refused", r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"))})
	}))
	defer srv.Close()
	c, err := NewClient(Options{System: "crm", Base: srv.URL, API: API{
		Auth:    &Auth{Bearer: "tok-123456"},
		Headers: map[string]string{"X-Api-Key": "key-abcdef", "Accept-Version": "2"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(context.Background(), Request{Method: "GET", Path: "/contacts"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("Do: %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, "tok-123456") || strings.Contains(msg, "key-abcdef") ||
		!strings.Contains(msg, `crm GET contacts answered 401 bad ***: token "Bearer ***" and key "***" refused`) {
		t.Errorf("error: %s", msg)
	}
}

func TestBaseURLHidesPassword(t *testing.T) {
	_, err := NewClient(Options{System: "crm", Base: "https://u:hunter2@[::1"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("NewClient: %v", err)
	}
}
