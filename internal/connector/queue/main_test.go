package queue

import (
	"testing"

	"go.uber.org/goleak"
)

// Closing a System stops every goroutine it started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
