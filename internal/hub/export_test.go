package hub

import "testing"

// WebhookLimits bound the webhook server; tests shorten its timeouts.
type WebhookLimits = serverLimits

// DefaultWebhookLimits are the limits a production hub uses.
func DefaultWebhookLimits() WebhookLimits { return defaultLimits }

// SetWebhookLimits makes hubs that start serving webhooks from now on,
// until the test ends, use l. Tests that call it must not run in parallel.
func SetWebhookLimits(t testing.TB, l WebhookLimits) {
	old := webhookLimits
	webhookLimits = l
	t.Cleanup(func() { webhookLimits = old })
}
