package testenv

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Answering starts an HTTP server that answers every request with status
// and body as JSON, for fuzzing what a connector makes of any answer, and
// returns its URL. A status that is no HTTP status, or 429 (which a
// client waits out), is answered as 200.
func Answering(t testing.TB, status int, body []byte) string {
	t.Helper()
	if status < 100 || status > 599 || status == http.StatusTooManyRequests {
		status = http.StatusOK
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
