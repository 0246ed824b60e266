package torture

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/broker"
)

// mqQueues are the broker and queues of a run's queue system.
type mqQueues struct {
	kind, url                string // url reaches the broker through the harness's proxy
	direct                   string // the broker itself
	out, in, reports, stream string
}

// queueSystem makes the queue application: its database in dir, queues
// with names of its own on the broker (kind rabbitmq or nats, at
// brokerURL), and a TCP proxy that both tandem and the application reach
// the broker through, so that cut and slow faults apply to their links.
func queueSystem(ctx context.Context, dir, kind, brokerURL string) (*system, error) {
	u, err := url.Parse(brokerURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("broker URL %q: want like amqp://guest:guest@127.0.0.1:5672/ or nats://127.0.0.1:4222", brokerURL)
	}
	s := &system{name: "mq", kind: "queue"}
	if s.tcp, err = newTCPProxy(ctx, u.Host); err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, s.tcp.Close)
	name := randomName("torture_")
	q := mqQueues{kind: kind, direct: brokerURL, out: name + ".changes", in: name + ".inbound", reports: name + ".reports"}
	if kind == "nats" {
		q.stream = strings.ToUpper(name)
	}
	pu := *u
	pu.Host = s.tcp.Addr()
	q.url = pu.String()
	s.cleanup = append(s.cleanup, func() { removeQueues(q) })
	app, err := newMQApp(ctx, "mq", dir, q)
	if err != nil {
		s.close()
		return nil, err
	}
	s.app = app
	stream := ""
	if q.stream != "" {
		stream = ", stream: " + q.stream
	}
	s.yaml = fmt.Sprintf("  mq:\n    type: queue\n    poll: 100ms\n    batch: 200\n    queue: {broker: %s, url: %q, outbound: %s, inbound: %s, reports: %s%s}\n",
		kind, q.url, q.out, q.in, q.reports, stream)
	s.mapping = `  mq:
    account: {table: firm, key_generated: true, fields: {ref: code, name: label, tier: grade, score: points}}
    contact: {table: staffer, key_generated: true, fields: {ref: code, name: full_name, account: firm}}
`
	return s, nil
}

// removeQueues deletes a run's queues (or stream) on the broker itself.
func removeQueues(q mqQueues) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := broker.Dial(ctx, broker.Options{Kind: q.kind, URL: q.direct, Stream: q.stream, Name: "tandem torture cleanup"})
	if err != nil {
		return
	}
	defer b.Close()
	_ = b.Remove(ctx, q.out, q.in, q.reports)
}
