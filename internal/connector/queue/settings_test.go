package queue_test

import (
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/config/configtest"
	"github.com/tandemhub/tandem/internal/connector/queue"
)

func TestSettings(t *testing.T) {
	src := strings.Replace(configtest.Base, `  crm: {type: sqlite, dsn: crm.db}`, `  crm:
    type: queue
    queue:
      broker: rabbitmq
      url: "amqp://tandem:${SHOP_PASSWORD}@localhost:5672/"
      prefetch: 200`, 1)
	c, probs := configtest.Parse(t, src, nil)
	if probs != nil {
		t.Fatal(probs)
	}
	q := queue.SettingsOf(c.Systems["crm"])
	if q.URL != "amqp://tandem:s3cret@localhost:5672/" {
		t.Errorf("url = %q", q.URL)
	}
	r := q.Resolved("crm")
	want := queue.Settings{Broker: "rabbitmq", URL: q.URL, Outbound: "tandem.crm.changes", Inbound: "tandem.crm.inbound",
		Reports: "tandem.crm.reports", Prefetch: 200}
	if r != want {
		t.Errorf("Resolved = %+v, want %+v", r, want)
	}
	n := queue.Settings{Broker: "nats", URL: "nats://x:4222"}.Resolved("my-shop.eu")
	if n.Stream != "TANDEM_MY-SHOP_EU" || n.Prefetch != queue.DefaultPrefetch || n.Outbound != "tandem.my-shop.eu.changes" {
		t.Errorf("nats defaults = %+v", n)
	}
}

func TestSettingsMistakes(t *testing.T) {
	const crm = `  crm: {type: sqlite, dsn: crm.db}`
	cases := []struct {
		name, system string
		want         []configtest.Want
	}{
		{"no queue block", `  crm: {type: queue}`,
			[]configtest.Want{{"systems.crm.queue", "missing", "broker: rabbitmq", "crm: {type: queue}"}}},
		{"dsn given", `  crm: {type: queue, dsn: "amqp://x", queue: {broker: nats, url: "nats://localhost:4222"}}`,
			[]configtest.Want{{"systems.crm.dsn", "a queue system has no dsn", "queue.url", "dsn: \"amqp"}}},
		{"queue on a sqlite system", `  crm: {type: sqlite, dsn: crm.db, queue: {broker: nats}}`,
			[]configtest.Want{{"systems.crm.queue", "only for systems of type queue", "type: queue", "queue: {broker"}}},
		{"broker misspelt", `  crm: {type: queue, queue: {broker: rabbit, url: "amqp://localhost"}}`,
			[]configtest.Want{{"systems.crm.queue.broker", `"rabbit" is not a broker`, `did you mean "rabbitmq"?`, "broker: rabbit"}}},
		{"broker and url missing", `  crm: {type: queue, queue: {prefetch: 10}}`,
			[]configtest.Want{
				{"systems.crm.queue.broker", "missing", "rabbitmq, nats", "crm: {type"},
				{"systems.crm.queue.url", "missing", "", "crm: {type"},
			}},
		{"url of the other broker", `  crm: {type: queue, queue: {broker: rabbitmq, url: "nats://localhost:4222"}}`,
			[]configtest.Want{{"systems.crm.queue.url", `"nats://localhost:4222" is not a amqp/amqps URL`, "amqp://tandem", "url: \"nats"}}},
		{"url password hidden", `  crm: {type: queue, queue: {broker: nats, url: "http://u:secret@localhost:4222"}}`,
			[]configtest.Want{{"systems.crm.queue.url", `"http://u:***@localhost:4222"`, "nats://localhost:4222", "url:"}}},
		{"one of several nats urls", `  crm: {type: queue, queue: {broker: nats, url: "nats://a:4222,b:4222"}}`,
			[]configtest.Want{{"systems.crm.queue.url", `"b:4222" is not a nats/tls/ws/wss URL`, "", "url:"}}},
		{"same queue twice", `  crm: {type: queue, queue: {broker: rabbitmq, url: "amqp://localhost", inbound: q, reports: q}}`,
			[]configtest.Want{{"systems.crm.queue.reports", `"q" is also the inbound queue`, "a queue each", "reports: q"}}},
		{"wildcard subject", `  crm: {type: queue, queue: {broker: nats, url: "nats://localhost", outbound: "crm.>"}}`,
			[]configtest.Want{{"systems.crm.queue.outbound", "wildcard", "tandem.shop.changes", "outbound:"}}},
		{"reserved queue name", `  crm: {type: queue, queue: {broker: rabbitmq, url: "amqp://localhost", inbound: amq.crm}}`,
			[]configtest.Want{{"systems.crm.queue.inbound", "starts with amq.", "", "inbound: amq"}}},
		{"stream on rabbitmq", `  crm: {type: queue, queue: {broker: rabbitmq, url: "amqp://localhost", stream: S}}`,
			[]configtest.Want{{"systems.crm.queue.stream", "only for broker nats", "remove it", "stream: S"}}},
		{"bad stream name", `  crm: {type: queue, queue: {broker: nats, url: "nats://localhost", stream: a.b}}`,
			[]configtest.Want{{"systems.crm.queue.stream", `"a.b" is not a JetStream stream name`, "TANDEM_SHOP", "stream: a.b"}}},
		{"prefetch too big", `  crm: {type: queue, queue: {broker: nats, url: "nats://localhost", prefetch: 70000}}`,
			[]configtest.Want{{"systems.crm.queue.prefetch", "70000 is not from 1 to 65535", "the default is 1000", "prefetch: 70000"}}},
		{"unknown key", `  crm: {type: queue, queue: {broker: nats, url: "nats://localhost", inbond: x}}`,
			[]configtest.Want{{"systems.crm.queue.inbond", "unknown key", `did you mean "inbound"?`, "inbond: x"}}},
		{"url env unset", `  crm: {type: queue, queue: {broker: nats, url: "nats://${NATS_HOST}:4222"}}`,
			[]configtest.Want{{"systems.crm.queue.url", "environment variable NATS_HOST is not set", "export NATS_HOST", "${NATS_HOST}"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(configtest.Base, crm, tc.system, 1)
			_, got := configtest.Parse(t, src, nil)
			configtest.Expect(t, src, got, tc.want)
		})
	}
}
