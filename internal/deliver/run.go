package deliver

import (
	"context"
	"sync"
	"time"
)

// Run delivers until ctx ends, as a pipeline of three stages: while one
// batch is written to the destination, the next is read and prepared
// and the one before is recorded in the store. A record is in at most
// one batch at a time: fetching moves forward through the queue, and
// goes back to its start (to pick up records changed while in flight)
// only once every batch in flight is recorded.
func (w *Worker) Run(ctx context.Context, wake <-chan struct{}, poll time.Duration) error {
	p := &pipeline{w: w, toApply: make(chan []*item, 1), toRecord: make(chan []*item, 1),
		// At most four batches are in flight (one queued and one busy
		// per stage), so recording never blocks on this channel.
		recorded: make(chan error, 8)}
	p.start(ctx)
	defer p.stop()
	var after int64 // fetch position
	lastRestart := time.Now()
	for ctx.Err() == nil {
		p.collect()
		if p.failures > 0 {
			p.settle(ctx)
			after = 0
			if !sleepOrWake(ctx, nil, w.Policy.delay(p.failures)) {
				return nil
			}
			p.failures = 0
		}
		if after > 0 && time.Since(lastRestart) > time.Second {
			// Under a steady stream, still go back now and then for
			// records that changed while they were in flight.
			p.settle(ctx)
			after, lastRestart = 0, time.Now()
		}
		items, last, err := w.fetch(ctx, after)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.failures++
			w.Log.Error("delivery round failed", "err", err)
			continue
		}
		if len(items) == 0 {
			if after > 0 || p.inFlight > 0 {
				p.settle(ctx)
				after, lastRestart = 0, time.Now()
				continue
			}
			if !sleepOrWake(ctx, wake, poll) {
				return nil
			}
			continue
		}
		after = last
		p.inFlight++
		select {
		case p.toApply <- items:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// pipeline is Run's apply and record stages and what Run counts of
// them: batches in flight, and rounds that failed to be recorded.
type pipeline struct {
	w                 *Worker
	toApply, toRecord chan []*item
	recorded          chan error // one per batch handed to toApply
	stages            sync.WaitGroup
	inFlight          int
	failures          int
}

// start runs the apply and record stages until toApply is closed.
func (p *pipeline) start(ctx context.Context) {
	p.stages.Add(2)
	go p.applyStage(ctx)
	go p.recordStage(ctx)
}

// stop closes the pipeline and waits until its stages have finished
// what they hold.
func (p *pipeline) stop() {
	close(p.toApply)
	p.stages.Wait()
}

func (p *pipeline) applyStage(ctx context.Context) {
	defer p.stages.Done()
	defer close(p.toRecord)
	for items := range p.toApply {
		if ctx.Err() != nil {
			// Not written: it stays queued for the next run. Still
			// counted as finished, or settling would wait forever.
			p.recorded <- nil
			continue
		}
		p.w.apply(ctx, items)
		if ctx.Err() != nil {
			// Cut short by shutdown: failures now are not the
			// destination's; deliver the batch again next run.
			p.recorded <- nil
			continue
		}
		p.toRecord <- items
	}
}

func (p *pipeline) recordStage(ctx context.Context) {
	defer p.stages.Done()
	for items := range p.toRecord {
		// What was written is recorded even while shutting down,
		// so that a restart does not write it again.
		err := p.w.record(context.WithoutCancel(ctx), items)
		if err != nil {
			p.w.Log.Error("recording deliveries failed", "err", err)
		}
		p.recorded <- err
	}
}

// collect counts the batches recorded meanwhile, without waiting.
func (p *pipeline) collect() {
	for {
		select {
		case err := <-p.recorded:
			p.inFlight--
			if err != nil {
				p.failures++
			}
		default:
			return
		}
	}
}

// settle waits until every batch in flight is recorded, or ctx ends (the
// stages then finish what they hold on the way out).
func (p *pipeline) settle(ctx context.Context) {
	for ; p.inFlight > 0; p.inFlight-- {
		select {
		case err := <-p.recorded:
			if err != nil {
				p.failures++
			}
		case <-ctx.Done():
			return
		}
	}
}

// sleepOrWake waits for d or a wake-up; false means ctx ended.
func sleepOrWake(ctx context.Context, wake <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-t.C:
	}
	return true
}
