package hub

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// webhookSource is a system that accepts pushed notifications; it
// returns nil when it has no webhook configured.
type webhookSource interface {
	Webhook() http.Handler
}

// WebhookMux routes POST /webhooks/SYSTEM to the systems that accept
// notifications. It is nil when none does.
func (h *Hub) WebhookMux() *http.ServeMux {
	var mux *http.ServeMux
	for _, name := range h.cfg.SystemNames() {
		ws, ok := h.systems[name].(webhookSource)
		if !ok {
			continue
		}
		hd := ws.Webhook()
		if hd == nil {
			continue
		}
		if mux == nil {
			mux = http.NewServeMux()
		}
		mux.Handle("/webhooks/"+name, hd)
	}
	return mux
}

// serveWebhooks serves the webhook endpoints on cfg.Listen until ctx
// ends. It listens before capture starts, so notifications sent during
// the initial snapshot wait for it rather than being refused.
func (h *Hub) serveWebhooks(ctx context.Context, ready chan<- error) {
	mux := h.WebhookMux()
	if h.cfg.Listen == "" || mux == nil {
		ready <- nil
		return
	}
	ln, err := net.Listen("tcp", h.cfg.Listen)
	if err != nil {
		ready <- err
		return
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	h.log.Info("accepting webhooks", "addr", ln.Addr().String())
	ready <- nil
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		h.log.Error("webhook server stopped", "err", err)
	}
}
