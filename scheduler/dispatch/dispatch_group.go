package dispatch

import (
	"context"
	"runtime"

	"github.com/aftercare/aftercare"
)

// outcomeBatcher is a store that commits many outcomes in one transaction
// (RecordOutcomes of sqlite.DB and postgres.DB): errs[i] is outcomes[i]'s,
// as RecordOutcome would return it. A store without it records each
// outcome alone.
type outcomeBatcher interface {
	RecordOutcomes(ctx context.Context, outcomes []*aftercare.Outcome) (errs []error)
}

// maxGroup bounds one group commit.
const maxGroup = 256

// groupCommit is the group commit of one batch's sends: each send hands
// its outcome to one goroutine and waits until the transaction that holds
// it has committed, so a send still counts only once its outcome is
// stored, and a crash before that leaves the message sending (unknown
// after the lease, never resent), as with one transaction per send. The
// goroutine commits whatever outcomes are waiting at once: while one
// commit runs, the next group gathers.
type groupCommit struct {
	store aftercare.DispatchStore
	b     outcomeBatcher
	reqs  chan groupReq
	done  chan struct{}
	// checks groups the opt-out reads before each send the same way
	// (optOutGroup), when the store has OptedOutMany; nil otherwise.
	checks chan checkReq
}

type groupReq struct {
	o   *aftercare.Outcome
	err chan error
}

type groupKey struct{}

// startGroup starts the group commit of a batch, when the store has one,
// and returns ctx carrying it; stop ends it once every send has recorded.
func (d *Dispatcher) startGroup(ctx context.Context) (context.Context, func()) {
	b, ok := d.Store.(outcomeBatcher)
	if !ok {
		return ctx, func() {}
	}
	g := &groupCommit{store: d.Store, b: b, reqs: make(chan groupReq, d.Concurrency), done: make(chan struct{})}
	go g.run(context.WithoutCancel(ctx))
	stopChecks := func() {}
	if mc, ok := d.Store.(optOutManyChecker); ok {
		g.checks = make(chan checkReq, d.Concurrency)
		checksDone := make(chan struct{})
		go func() { defer close(checksDone); runChecks(context.WithoutCancel(ctx), mc, g.checks) }()
		stopChecks = func() { close(g.checks); <-checksDone }
	}
	return context.WithValue(ctx, groupKey{}, g), func() { close(g.reqs); <-g.done; stopChecks() }
}

func (g *groupCommit) run(ctx context.Context) {
	defer close(g.done)
	batch := make([]groupReq, 0, maxGroup)
	outcomes := make([]*aftercare.Outcome, 0, maxGroup)
	for first := range g.reqs {
		batch = append(batch[:0], first)
		batch = gather(g.reqs, batch)
		outcomes = outcomes[:0]
		for _, r := range batch {
			outcomes = append(outcomes, r.o)
		}
		errs := g.b.RecordOutcomes(ctx, outcomes)
		for i, r := range batch {
			r.err <- errs[i]
		}
	}
}

// group returns the group of ctx's batch, or nil.
func group(ctx context.Context) *groupCommit {
	g, _ := ctx.Value(groupKey{}).(*groupCommit)
	return g
}

// gather appends to batch the requests waiting on reqs, up to maxGroup.
// When there are none it yields the processor a few times first, so that
// sends whose replies have just come in hand their outcomes over too: on
// two cores the committer would otherwise wake for every outcome and
// commit groups of one or two (1.8 on average at 32 sends in flight,
// docs/performance.md), each commit a WAL append.
func gather[T any](reqs <-chan T, batch []T) []T {
	for yields := 0; len(batch) < maxGroup; {
		select {
		case r, ok := <-reqs:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		default:
			if yields == maxYields {
				return batch
			}
			yields++
			runtime.Gosched()
		}
	}
	return batch
}

// maxYields is how many times gather yields while nothing is waiting.
const maxYields = 3

// storeOutcome records o through the batch's group commit, if ctx has
// one, or alone, and returns once it is committed (or failed).
func (d *Dispatcher) storeOutcome(ctx context.Context, o *aftercare.Outcome) error {
	g := group(ctx)
	if g == nil {
		return d.Store.RecordOutcome(context.WithoutCancel(ctx), o)
	}
	errc := make(chan error, 1)
	g.reqs <- groupReq{o: o, err: errc}
	return <-errc
}

type sendDoneKey struct{}

// withSendDone returns ctx carrying done, which deliver calls once the
// provider has answered, before the outcome is recorded: Tick's send slot
// is free then, and the outcome joins the group commit while the next
// send is in flight. The send still counts only once its outcome is
// committed (Tick waits for every delivery before it returns).
func withSendDone(ctx context.Context, done func()) context.Context {
	return context.WithValue(ctx, sendDoneKey{}, done)
}

func sendDone(ctx context.Context) {
	if done, _ := ctx.Value(sendDoneKey{}).(func()); done != nil {
		done()
	}
}
