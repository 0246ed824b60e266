package client

import (
	"testing"

	"go.uber.org/goleak"
)

// Relay and Consume leave nothing running once their context ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
