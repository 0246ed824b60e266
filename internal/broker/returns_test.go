package broker

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The returns channel is closed when the connection to RabbitMQ drops. A
// publish in that moment once drained it for ever: a closed channel
// always has a value to take. TestOutage hung so, now and then.
func TestDrainReturnsOfAClosedChannelEnds(t *testing.T) {
	c := make(chan amqp.Return, 2)
	c <- amqp.Return{}
	close(c)
	done := make(chan int)
	go func() { done <- drainReturns(c) }()
	select {
	case n := <-done:
		if n != 1 {
			t.Errorf("drained %d returns, want 1", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("draining a closed returns channel never ends")
	}
}
