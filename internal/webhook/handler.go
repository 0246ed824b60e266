package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Notice is one record a notification names: the table (resource) it
// lives in and its id there.
type Notice struct{ Table, ID string }

// Handler serves one system's webhook endpoint.
type Handler struct {
	System string
	Scheme Scheme
	// Parse reads the records a verified body names.
	Parse func(body []byte) ([]Notice, error)
	// Notify hands a record to capture; the channel closes once its
	// fetch is stored.
	Notify func(table, id string) <-chan struct{}
	// Wait bounds how long the answer waits for capture. Default 10s.
	Wait time.Duration
	// Limit bounds the body; a longer one is answered 413. Default 1 MiB.
	Limit int64
	Log   *slog.Logger
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
		return
	}
	limit := h.Limit
	if limit <= 0 {
		limit = 1 << 20
	}
	if r.ContentLength > limit {
		h.tooLarge(w, r, limit)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if tl, ok := errors.AsType[*http.MaxBytesError](err); ok {
		h.tooLarge(w, r, tl.Limit)
		return
	}
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	if err := h.Scheme.Verify(r, body); err != nil {
		h.log().Warn("webhook refused", "system", h.System, "remote", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	notices, err := h.Parse(body)
	if err != nil {
		h.log().Warn("webhook not understood", "system", h.System, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	wait := h.Wait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	done := make([]<-chan struct{}, 0, len(notices))
	for _, n := range notices {
		done = append(done, h.Notify(n.Table, n.ID))
	}
	for _, ch := range done {
		select {
		case <-ch:
		case <-ctx.Done():
			// Not stored yet: the sender must send again; the record stays
			// queued, so nothing is lost either way.
			w.Header().Set("Retry-After", "5")
			http.Error(w, "not stored yet; send again", http.StatusServiceUnavailable)
			return
		}
	}
	h.log().Debug("webhook stored", "system", h.System, "records", len(notices))
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"stored\":%d}\n", len(notices))
}

// tooLarge refuses a body over limit (or over the server's own limit)
// and closes the connection rather than read the rest.
func (h *Handler) tooLarge(w http.ResponseWriter, r *http.Request, limit int64) {
	h.log().Warn("webhook refused: body too large", "system", h.System, "remote", r.RemoteAddr, "limit", limit)
	w.Header().Set("Connection", "close")
	http.Error(w, fmt.Sprintf("body too large: at most %d bytes", limit), http.StatusRequestEntityTooLarge)
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

// IsSignature reports whether err is a refused signature.
func IsSignature(err error) bool { return errors.Is(err, ErrSignature) }
