package queue

// The block of tandem.yaml that configures a system of type queue, and
// its checks. The client package reads the same settings.

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/secret"
)

func init() {
	config.Register(config.Section{Key: "queue", Types: []string{"queue"},
		New: func() any { return &Settings{} }, Check: check})
}

// SettingsOf returns the queue block of sys, or nil when it has none.
func SettingsOf(sys *config.System) *Settings {
	s, _ := sys.Block("queue").(*Settings)
	return s
}

// Settings configure a system of type queue: an application that cannot be
// read by tandem and instead speaks tandem's message contract through a
// message broker. It publishes its changes to an outbound queue, reads
// other systems' changes from an inbound queue and reports what it did
// with each on a reports queue (see docs/connectors/queue.md).
type Settings struct {
	// Broker is rabbitmq or nats (NATS JetStream).
	Broker string `yaml:"broker"`
	// URL is the broker's address; write secrets as ${ENV_VAR}.
	// rabbitmq: amqp://user:${RABBIT_PASSWORD}@host:5672/vhost (or amqps://);
	// nats: nats://host:4222, several separated by commas.
	URL string `yaml:"url" secret:"dsn"`
	// Outbound is the queue (rabbitmq) or subject (nats) the system
	// publishes its changes to. Default tandem.SYSTEM.changes.
	Outbound string `yaml:"outbound"`
	// Inbound is the queue or subject tandem publishes other systems'
	// changes to, for the system to apply. Default tandem.SYSTEM.inbound.
	Inbound string `yaml:"inbound"`
	// Reports is the queue or subject the system reports apply results
	// to: created keys and failures. Default tandem.SYSTEM.reports.
	Reports string `yaml:"reports"`
	// Stream is the JetStream stream that holds the three subjects (nats
	// only). tandem creates it when it does not exist. Default TANDEM_SYSTEM.
	Stream string `yaml:"stream"`
	// Prefetch bounds how many messages of one queue the broker hands
	// tandem before it acknowledges them. Default 1000.
	Prefetch int `yaml:"prefetch"`
}

// Brokers are the message brokers a queue system may use.
var Brokers = []string{"rabbitmq", "nats"}

// DefaultPrefetch is the prefetch of a queue system that sets none.
const DefaultPrefetch = 1000

// maxPrefetch bounds prefetch (AMQP carries it in 16 bits).
const maxPrefetch = 65535

// Resolved returns q with the defaults of system filled in.
func (q Settings) Resolved(system string) Settings {
	if q.Outbound == "" {
		q.Outbound = "tandem." + system + ".changes"
	}
	if q.Inbound == "" {
		q.Inbound = "tandem." + system + ".inbound"
	}
	if q.Reports == "" {
		q.Reports = "tandem." + system + ".reports"
	}
	if q.Stream == "" && q.Broker == "nats" {
		q.Stream = "TANDEM_" + strings.ToUpper(strings.NewReplacer(".", "_", " ", "_").Replace(system))
	}
	if q.Prefetch == 0 {
		q.Prefetch = DefaultPrefetch
	}
	return q
}

// check checks the system of type queue c is at; block is its
// *Settings or nil.
func check(c *config.Check, block any) {
	s := c.System
	if s.DSN != "" {
		c.Add("a queue system has no dsn", "write the broker's address as queue.url, and remove dsn", "dsn")
	}
	q, _ := block.(*Settings)
	if q == nil {
		c.Add("missing", "say how to reach the system, like queue: {broker: rabbitmq, url: \"amqp://tandem:${RABBIT_PASSWORD}@localhost:5672/\"}", "queue")
		return
	}
	if s.TLS != nil && q.Broker == "rabbitmq" && !strings.HasPrefix(q.URL, "amqps://") {
		c.Add("RabbitMQ speaks TLS only on an amqps:// url", "write the url as amqps://host:5671/, or remove tls", "tls")
	}
	qc := c.Under("queue")
	switch {
	case q.Broker == "":
		qc.Add("missing", "one of "+strings.Join(Brokers, ", "), "broker")
	case !slices.Contains(Brokers, q.Broker):
		qc.Add(fmt.Sprintf("%q is not a broker tandem speaks to", q.Broker), config.Suggest(q.Broker, Brokers), "broker")
	}
	if q.URL == "" {
		qc.Add("missing", brokerURLHint(q.Broker), "url")
	} else if msg := checkBrokerURL(q.Broker, q.URL); msg != "" {
		qc.Add(msg, brokerURLHint(q.Broker), "url")
	}
	r := q.Resolved(s.Name)
	seen := map[string]string{}
	for _, n := range []struct{ key, name string }{{"outbound", r.Outbound}, {"inbound", r.Inbound}, {"reports", r.Reports}} {
		if msg := checkQueueName(q.Broker, n.name); msg != "" {
			qc.Add(fmt.Sprintf("%q %s", n.name, msg), queueNameHint(q.Broker), n.key)
			continue
		}
		if other, dup := seen[n.name]; dup {
			qc.Add(fmt.Sprintf("%q is also the %s queue", n.name, other), "give outbound, inbound and reports a queue each", n.key)
		}
		seen[n.name] = n.key
	}
	if q.Stream != "" {
		if q.Broker != "nats" {
			qc.Add("is only for broker nats", "remove it", "stream")
		} else if strings.ContainsAny(q.Stream, " \t\r\n.*>/\\") {
			qc.Add(fmt.Sprintf("%q is not a JetStream stream name", q.Stream), "use letters, digits, - and _, like TANDEM_SHOP", "stream")
		}
	}
	if q.Prefetch < 0 || q.Prefetch > maxPrefetch {
		qc.Add(fmt.Sprintf("%d is not from 1 to %d", q.Prefetch, maxPrefetch),
			fmt.Sprintf("the default is %d; at least the system's batch is best", DefaultPrefetch), "prefetch")
	}
}

func brokerURLHint(broker string) string {
	switch broker {
	case "rabbitmq":
		return "write like amqp://tandem:${RABBIT_PASSWORD}@localhost:5672/ (amqps:// for TLS)"
	case "nats":
		return "write like nats://localhost:4222 (tls:// for TLS; several separated by commas)"
	}
	return "write the broker's address, like amqp://localhost:5672/ or nats://localhost:4222"
}

// checkBrokerURL says what is wrong with a broker URL, or "".
func checkBrokerURL(broker, raw string) string {
	schemes := map[string][]string{"rabbitmq": {"amqp", "amqps"}, "nats": {"nats", "tls", "ws", "wss"}}[broker]
	if schemes == nil {
		return ""
	}
	urls := []string{raw}
	if broker == "nats" {
		urls = strings.Split(raw, ",")
	}
	for _, one := range urls {
		u, err := url.Parse(strings.TrimSpace(one))
		if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
			return fmt.Sprintf("%q is not a %s URL", secret.DSN(strings.TrimSpace(one)), strings.Join(schemes, "/"))
		}
	}
	return ""
}

// checkQueueName says what is wrong with a queue or subject name, or "".
func checkQueueName(broker, name string) string {
	switch {
	case strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t\r\n"):
		return "holds blank space"
	case len(name) > 255:
		return "is longer than 255 bytes"
	case broker == "rabbitmq" && strings.HasPrefix(name, "amq."):
		return "starts with amq., which RabbitMQ keeps for itself"
	case broker == "nats" && strings.ContainsAny(name, "*>"):
		return "holds a wildcard (* or >)"
	case broker == "nats" && (strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..")):
		return "has an empty token between dots"
	}
	return ""
}

func queueNameHint(broker string) string {
	if broker == "nats" {
		return "write a subject like tandem.shop.changes: tokens separated by dots, no blanks or wildcards"
	}
	return "write a queue name like tandem.shop.changes"
}
