package broker

import (
	"testing"

	"go.uber.org/goleak"
)

// Closing a Broker stops every goroutine it started, through outages too.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
