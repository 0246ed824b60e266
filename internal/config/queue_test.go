package config

import (
	"strings"
	"testing"
)

func TestQueueSystem(t *testing.T) {
	src := strings.Replace(baseYAML, `  crm: {type: sqlite, dsn: crm.db}`, `  crm:
    type: queue
    queue:
      broker: rabbitmq
      url: "amqp://tandem:${SHOP_PASSWORD}@localhost:5672/"
      prefetch: 200`, 1)
	c, probs := parse(t, src, nil)
	if probs != nil {
		t.Fatal(probs)
	}
	q := c.Systems["crm"].Queue
	if q.URL != "amqp://tandem:s3cret@localhost:5672/" {
		t.Errorf("url = %q", q.URL)
	}
	r := q.Resolved("crm")
	want := Queue{Broker: "rabbitmq", URL: q.URL, Outbound: "tandem.crm.changes", Inbound: "tandem.crm.inbound",
		Reports: "tandem.crm.reports", Prefetch: 200}
	if r != want {
		t.Errorf("Resolved = %+v, want %+v", r, want)
	}
	n := Queue{Broker: "nats", URL: "nats://x:4222"}.Resolved("my-shop.eu")
	if n.Stream != "TANDEM_MY-SHOP_EU" || n.Prefetch != DefaultPrefetch || n.Outbound != "tandem.my-shop.eu.changes" {
		t.Errorf("nats defaults = %+v", n)
	}
}

func TestQueueMistakes(t *testing.T) {
	const crm = `  crm: {type: sqlite, dsn: crm.db}`
	cases := []struct {
		name, system string
		want         []want
	}{
		{"no queue block", `  crm: {type: queue}`,
			[]want{{"systems.crm.queue", "missing", "broker: rabbitmq", "crm: {type: queue}"}}},
		{"dsn given", `  crm: {type: queue, dsn: "amqp://x", queue: {broker: nats, url: "nats://localhost:4222"}}`,
			[]want{{"systems.crm.dsn", "a queue system has no dsn", "queue.url", "dsn: \"amqp"}}},
		{"queue on a sqlite system", `  crm: {type: sqlite, dsn: crm.db, queue: {broker: nats}}`,
			[]want{{"systems.crm.queue", "only for systems of type queue", "type: queue", "queue: {broker"}}},
		{"broker misspelt", `  crm: {type: queue, queue: {broker: rabbit, url: "amqp://localhost"}}`,
			[]want{{"systems.crm.queue.broker", `"rabbit" is not a broker`, `did you mean "rabbitmq"?`, "broker: rabbit"}}},
		{"broker and url missing", `  crm: {type: queue, queue: {prefetch: 10}}`,
			[]want{
				{"systems.crm.queue.broker", "missing", "rabbitmq, nats", "crm: {type"},
				{"systems.crm.queue.url", "missing", "", "crm: {type"},
			}},
		{"url of the other broker", `  crm: {type: queue, queue: {broker: rabbitmq, url: "nats://localhost:4222"}}`,
			[]want{{"systems.crm.queue.url", `"nats://localhost:4222" is not a amqp/amqps URL`, "amqp://tandem", "url: \"nats"}}},
		{"url password hidden", `  crm: {type: queue, queue: {broker: nats, url: "http://u:secret@localhost:4222"}}`,
			[]want{{"systems.crm.queue.url", `"http://u:***@localhost:4222"`, "nats://localhost:4222", "url:"}}},
		{"one of several nats urls", `  crm: {type: queue, queue: {broker: nats, url: "nats://a:4222,b:4222"}}`,
			[]want{{"systems.crm.queue.url", `"b:4222" is not a nats/tls/ws/wss URL`, "", "url:"}}},
		{"same queue twice", `  crm: {type: queue, queue: {broker: rabbitmq, url: "amqp://localhost", inbound: q, reports: q}}`,
			[]want{{"systems.crm.queue.reports", `"q" is also the inbound queue`, "a queue each", "reports: q"}}},
		{"wildcard subject", `  crm: {type: queue, queue: {broker: nats, url: "nats://localhost", outbound: "crm.>"}}`,
			[]want{{"systems.crm.queue.outbound", "wildcard", "tandem.shop.changes", "outbound:"}}},
		{"reserved queue name", `  crm: {type: queue, queue: {broker: rabbitmq, url: "amqp://localhost", inbound: amq.crm}}`,
			[]want{{"systems.crm.queue.inbound", "starts with amq.", "", "inbound: amq"}}},
		{"stream on rabbitmq", `  crm: {type: queue, queue: {broker: rabbitmq, url: "amqp://localhost", stream: S}}`,
			[]want{{"systems.crm.queue.stream", "only for broker nats", "remove it", "stream: S"}}},
		{"bad stream name", `  crm: {type: queue, queue: {broker: nats, url: "nats://localhost", stream: a.b}}`,
			[]want{{"systems.crm.queue.stream", `"a.b" is not a JetStream stream name`, "TANDEM_SHOP", "stream: a.b"}}},
		{"prefetch too big", `  crm: {type: queue, queue: {broker: nats, url: "nats://localhost", prefetch: 70000}}`,
			[]want{{"systems.crm.queue.prefetch", "70000 is not from 1 to 65535", "the default is 1000", "prefetch: 70000"}}},
		{"unknown key", `  crm: {type: queue, queue: {broker: nats, url: "nats://localhost", inbond: x}}`,
			[]want{{"systems.crm.queue.inbond", "unknown key", `did you mean "inbound"?`, "inbond: x"}}},
		{"url env unset", `  crm: {type: queue, queue: {broker: nats, url: "nats://${NATS_HOST}:4222"}}`,
			[]want{{"systems.crm.queue.url", "environment variable NATS_HOST is not set", "export NATS_HOST", "${NATS_HOST}"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(baseYAML, crm, tc.system, 1)
			_, got := parse(t, src, nil)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				p := got[i]
				if p.Path != w.path || !strings.Contains(p.Msg, w.msg) || !strings.Contains(p.Hint, w.hint) {
					t.Errorf("problem %d = %v\nwant path %q, msg with %q, hint with %q", i, p, w.path, w.msg, w.hint)
				}
				if line := lineOf(src, w.at); w.at != "" && p.Line != line {
					t.Errorf("problem %d on line %d, want %d (%q): %v", i, p.Line, line, w.at, p)
				}
			}
		})
	}
}
