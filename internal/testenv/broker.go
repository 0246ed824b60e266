package testenv

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// RabbitMQStart is the command that starts the loopback RabbitMQ.
const RabbitMQStart = "service rabbitmq-server start"

// NATSStart is the command that starts the loopback NATS server with JetStream.
const NATSStart = "start-stop-daemon --start --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server"

// RabbitMQ returns the URL of the RabbitMQ server named by
// TANDEM_TEST_RABBITMQ (default amqp://guest:guest@127.0.0.1:5672/),
// once it accepts connections. Tests make their own queues with random
// names (see Name) and delete them.
func RabbitMQ(t testing.TB) string {
	t.Helper()
	return broker(t, "RabbitMQ", "TANDEM_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/", RabbitMQStart)
}

// NATS returns the URL of the NATS server (with JetStream) named by
// TANDEM_TEST_NATS (default nats://127.0.0.1:4222), once it accepts
// connections. Tests make their own streams with random names and
// delete them.
func NATS(t testing.TB) string {
	t.Helper()
	return broker(t, "NATS", "TANDEM_TEST_NATS", "nats://127.0.0.1:4222", NATSStart)
}

func broker(t testing.TB, what, env, def, start string) string {
	t.Helper()
	raw := os.Getenv(env)
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(strings.Split(raw, ",")[0])
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(t.Context(), "tcp", u.Host)
	if err != nil {
		unreachable(t, what, env, u.Host, start, err)
	}
	_ = c.Close()
	return raw
}
