package hub

import (
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/config"
)

// Capture looks again soon after a run of changes, and only as often as
// the system's poll says once it has been idle a while.
func TestCaptureLooksAgainSoonAfterChanges(t *testing.T) {
	for _, tc := range []struct {
		poll, since, want time.Duration
	}{
		{poll: 200 * time.Millisecond, since: 100 * time.Millisecond, want: 25 * time.Millisecond},
		{poll: 200 * time.Millisecond, since: 3 * time.Second, want: 200 * time.Millisecond},
		{poll: 20 * time.Millisecond, since: 0, want: 10 * time.Millisecond},
		{poll: 5 * time.Millisecond, since: 0, want: 5 * time.Millisecond},
		{poll: time.Hour, since: time.Second, want: time.Hour / 8},
	} {
		c := &capturer{sys: &config.System{Poll: config.Duration(tc.poll)}}
		if got := c.idle(time.Now().Add(-tc.since)); got != tc.want {
			t.Errorf("poll %s, last changes %s ago: waits %s, want %s", tc.poll, tc.since, got, tc.want)
		}
	}
}
