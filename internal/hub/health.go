package hub

import (
	"time"

	"github.com/tandemhub/tandem/internal/deliver"
	"github.com/tandemhub/tandem/internal/health"
)

// healthInterval is how often the hub rewrites its health file (see
// package health); status takes a file older than health.StaleAfter as
// a hub that no longer runs.
const healthInterval = time.Second

// deliveryHealth passes system's delivery outcomes on to the health board.
func (h *Hub) deliveryHealth(system string) func(deliver.Side, error) {
	return func(side deliver.Side, err error) {
		part := health.Destination
		if side == deliver.SideStore {
			part = health.DeliveryStore
		}
		h.health.Report(system, part, err)
	}
}

// Health is what the hub's capture and delivery loops last reported, as
// the health file shows it.
func (h *Hub) Health() *health.File { return h.health.File() }
