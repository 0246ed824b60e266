package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/webhook"
)

// Notifier posts signed webhook notifications of a store's changes to a
// URL, in batches, retrying answers other than 2xx a few times, as a
// vendor's webhook service does.
type Notifier struct {
	URL    string
	Scheme webhook.Scheme
	// Body renders a batch of events; nil uses the CRM's shape
	// {"events": [{"type", "collection", "id", "at"}]}.
	Body func([]Event) []byte
	// Repeat sends every batch this many times (at-least-once delivery
	// at its worst). Default 1.
	Repeat int
	// Shuffle sends the events of a batch out of order.
	Shuffle bool

	mu      sync.Mutex
	pending []Event
	wake    chan struct{}
	client  *http.Client
	sent    int
	refused int
}

// Attach makes n hear of the store's changes.
func (n *Notifier) Attach(s *Store) {
	n.wake = make(chan struct{}, 1)
	s.OnChange(func(e Event) {
		n.mu.Lock()
		n.pending = append(n.pending, e)
		n.mu.Unlock()
		select {
		case n.wake <- struct{}{}:
		default:
		}
	})
}

// Run sends notifications until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	if n.client == nil {
		n.client = &http.Client{Timeout: 30 * time.Second}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		time.Sleep(20 * time.Millisecond) // gather a batch
		n.mu.Lock()
		batch := n.pending
		n.pending = nil
		n.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		_ = n.Send(ctx, batch)
	}
}

// Send posts one batch of events (Repeat times) and returns the last
// answer's status.
func (n *Notifier) Send(ctx context.Context, events []Event) int {
	if n.client == nil {
		n.client = &http.Client{Timeout: 30 * time.Second}
	}
	if n.Shuffle {
		events = append([]Event(nil), events...)
		rand.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	}
	body := n.render(events)
	status := 0
	for range max(1, n.Repeat) {
		for try := range 5 {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(body))
			if err != nil {
				return 0
			}
			req.Header.Set("Content-Type", "application/json")
			n.Scheme.Sign(req, body)
			resp, err := n.client.Do(req)
			if err == nil {
				status = resp.StatusCode
				resp.Body.Close()
				n.mu.Lock()
				n.sent++
				if status >= 300 {
					n.refused++
				}
				n.mu.Unlock()
				if status < 300 || status == http.StatusUnauthorized {
					break
				}
			}
			select {
			case <-ctx.Done():
				return status
			case <-time.After(time.Duration(try+1) * 200 * time.Millisecond):
			}
		}
	}
	return status
}

func (n *Notifier) render(events []Event) []byte {
	if n.Body != nil {
		return n.Body(events)
	}
	type ev struct {
		Type       string `json:"type"`
		Collection string `json:"collection"`
		ID         string `json:"id"`
		At         string `json:"at"`
	}
	out := struct {
		Events []ev `json:"events"`
	}{}
	for _, e := range events {
		out.Events = append(out.Events, ev{Type: e.Kind, Collection: e.Collection, ID: e.ID, At: e.At.Format(time.RFC3339Nano)})
	}
	b, _ := json.Marshal(out)
	return b
}

// CRMScheme is how the CRM simulator signs its webhooks: hex HMAC-SHA256
// of "TIMESTAMP.BODY" in X-CRM-Signature as sha256=…, the Unix time in
// X-CRM-Timestamp.
func CRMScheme(secret string) webhook.Scheme {
	return webhook.Scheme{Secret: []byte(secret), Header: "X-CRM-Signature", Prefix: "sha256=",
		Encoding: "hex", Timestamp: "X-CRM-Timestamp"}
}
