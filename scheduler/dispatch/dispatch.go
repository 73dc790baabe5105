package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/aftercare/aftercare"
)

// Route is how one channel is sent: a sender, its name in the delivery log,
// and its rate limit.
type Route struct {
	Name   string           // "twilio", "smtp", "outbox"
	Sender aftercare.Sender //
	Rate   float64          // messages per second across all workers; 0 for no limit
}

// Dispatcher sends due messages. Each tick claims due messages in one
// committed transaction, hands each to its channel's sender (at most
// Concurrency at once, within each route's rate), and records every attempt
// and outcome in another transaction. A crash between the two leaves the
// message sending, which the reconciler turns into unknown once the
// dispatcher's lease lapses (Heartbeat): it is never resent automatically.
type Dispatcher struct {
	Store  aftercare.DispatchStore
	Routes map[aftercare.Channel]Route
	Now    func() time.Time
	// Sleep waits for d or until ctx is done (rate limiting). Tests inject
	// one that does not wait on the wall clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1) for retry jitter.
	Jitter func() float64
	// Owner names this process in claims: Instance + "/" + a per-run id.
	Owner       string
	Concurrency int           // sends in flight at once (default 4)
	Batch       int           // most messages claimed per tick (default 8 x Concurrency)
	SendTimeout time.Duration // per send (default 30s)
	// Lease is how long claims stay this dispatcher's without a renewal
	// (default DefaultLease); see Heartbeat.
	Lease  time.Duration
	Logger *slog.Logger
	// Failpoint, when set, is called at "before-claim", "after-claim"
	// (claimed and committed, provider not called) and "after-send" (the
	// provider answered, the outcome not recorded). The crash test uses it
	// to kill the process at each point.
	Failpoint func(point string)
	// Links makes each email's unsubscribe link; nil sends emails without
	// one. Messages reads an enrollment's timeline for the calendar of its
	// first email; nil sends no calendar (calendar.go).
	Links    Links
	Messages aftercare.MessageStore
	// Pages, when set, adds the patient's page link to the first SMS and
	// to emails of clinics with PatientLinks on (pagelink.go).
	Pages *PageLinks
	// Metrics is told of every attempt (metrics.go); nil tells nobody.
	Metrics Metrics

	once     sync.Once
	limiters map[aftercare.Channel]*rate.Limiter
	lease    leaseState
}

// Backoff bounds for transient failures.
const (
	BackoffBase = 5 * time.Second
	BackoffMax  = 10 * time.Minute
)

func (d *Dispatcher) init() {
	d.once.Do(func() {
		if d.Now == nil {
			d.Now = time.Now
		}
		if d.Sleep == nil {
			d.Sleep = sleepCtx
		}
		if d.Jitter == nil {
			d.Jitter = rand.Float64
		}
		if d.Concurrency <= 0 {
			d.Concurrency = 4
		}
		if d.Batch <= 0 {
			d.Batch = 8 * d.Concurrency
			// With every route rate-limited, claim no more than about two
			// seconds' worth: a claimed message waiting for its turn would
			// become unknown (never resent) if the process died meanwhile.
			if budget := d.rateBudget(); budget > 0 && budget < d.Batch {
				d.Batch = budget
			}
		}
		if d.SendTimeout <= 0 {
			d.SendTimeout = 30 * time.Second
		}
		if d.Lease <= 0 {
			d.Lease = DefaultLease
		}
		if d.Logger == nil {
			d.Logger = slog.New(slog.DiscardHandler)
		}
		if d.Metrics == nil {
			d.Metrics = noMetrics{}
		}
		d.limiters = map[aftercare.Channel]*rate.Limiter{}
		for ch, r := range d.Routes {
			if r.Rate > 0 {
				d.limiters[ch] = rate.NewLimiter(rate.Limit(r.Rate), 1)
			}
		}
	})
}

func (d *Dispatcher) failpoint(at string) {
	if d.Failpoint != nil {
		d.Failpoint(at)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rateBudget is how many messages the routes' rates allow in two seconds,
// or 0 when some route is unlimited.
func (d *Dispatcher) rateBudget() int {
	sum := 0.0
	for _, r := range d.Routes {
		if r.Rate <= 0 {
			return 0
		}
		sum += r.Rate
	}
	if len(d.Routes) == 0 {
		return 0
	}
	return max(1, int(math.Ceil(2*sum)))
}

// Tick claims what is due and sends it, batch after batch while batches
// come back full, so that a backlog drains at the senders' pace rather than
// one batch per tick. When ctx is cancelled it claims nothing more; sends
// already started finish and are recorded, and claimed messages not yet
// started are released back to pending. It returns how many messages it
// handed to a sender.
//
// With no route rate-limited, the next batch is claimed while the second
// half of a full one is being sent, and the sends of one batch run on
// into the next: the senders never wait for a claim, nor for a batch's
// last sends to finish before the next batch starts. (Claimed one after
// the other, a batch of 256 took 15 ms to claim while nothing was sent:
// a quarter of a backlog's dispatch time, docs/performance.md, session 7.)
// Then fewer than two batches of claimed messages wait for their turn
// (those of a patient with a send in flight wait too: tickSends). With a
// rate limit, sending is slower than claiming and the next batch is
// claimed once this one has been handed out, so that no claim waits long
// for its turn (see Batch).
func (d *Dispatcher) Tick(ctx context.Context) (int, error) {
	d.init()
	t := &tickSends{d: d, sem: make(chan struct{}, d.Concurrency), chains: map[chainKey][]queued{}}
	gctx, endGroup := d.startGroup(ctx)
	b := d.claim(ctx)
	for {
		var next chan claimedBatch
		prefetchAt := -1
		if b.full && len(d.limiters) == 0 {
			prefetchAt = len(b.claimed) / 2
		}
		for i, c := range b.claimed {
			if i == prefetchAt && ctx.Err() == nil {
				next = make(chan claimedBatch, 1)
				// Not cancelled midway: a claim that ctx ended would be
				// an error at every stop; start releases what it brings.
				go func() { next <- d.claim(context.WithoutCancel(ctx)) }()
			}
			t.start(gctx, c, b.gen)
		}
		switch {
		case b.err != nil:
		case next != nil:
			// Even when ctx has ended meanwhile: start releases what the
			// claim brought.
			b = <-next
			continue
		case b.full && ctx.Err() == nil:
			b = d.claim(ctx)
			continue
		}
		t.wg.Wait()
		endGroup()
		if len(t.released) > 0 {
			if err := d.Store.Release(context.WithoutCancel(ctx), d.Owner, t.released); err != nil {
				return t.sent, errors.Join(b.err, fmt.Errorf("releasing %d claimed messages: %w", len(t.released), err))
			}
		}
		return t.sent, b.err
	}
}

// claimedBatch is what one claim brought: the messages, the lease
// generation they belong to, whether the batch was full (there may be
// more due) and the claim's error.
type claimedBatch struct {
	claimed []*aftercare.Claimed
	gen     int
	full    bool
	err     error
}

// claim claims one batch of due messages; nothing once ctx has ended.
func (d *Dispatcher) claim(ctx context.Context) claimedBatch {
	if ctx.Err() != nil {
		return claimedBatch{} // a stopped tick is not a failure: serve is shutting down
	}
	gen, err := d.ensureLease(ctx)
	if err != nil {
		return claimedBatch{err: fmt.Errorf("renewing the claim lease: %w", err)}
	}
	d.failpoint("before-claim")
	claimed, err := d.Store.ClaimDue(ctx, d.Now().UTC(), d.Owner, d.Batch)
	if err != nil {
		return claimedBatch{err: fmt.Errorf("claiming due messages: %w", err)}
	}
	if len(claimed) > 0 {
		d.failpoint("after-claim")
	}
	return claimedBatch{claimed: claimed, gen: gen, full: len(claimed) == d.Batch}
}

// tickSends are the sends of one Tick: at most Concurrency at once, and
// one at a time to each patient on each channel, in the order claimed.
//
// A patient's texts due together (the welcome and the pause-actives text
// at treatment time) went out in parallel, and reached the phone in either
// order: the text saying what to pause before the one saying the treatment
// is done and how to opt out. Now a message waits, without a slot, until
// the provider has answered the one before it to the same patient on the
// same channel; then it takes that one's slot. Patients differ from one
// message to the next in a backlog, so the sends in flight stay as many.
// (Across replicas on PostgreSQL, two claims may split a patient's pair:
// there the order is not kept.)
type tickSends struct {
	d        *Dispatcher
	sem      chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	released []int64 // claimed, never started: put back to pending
	sent     int
	// chains holds, for each patient and channel with a send in flight,
	// the messages claimed for them since, in order (nil: none waiting).
	chains map[chainKey][]queued
}

type chainKey struct {
	patient int64
	channel aftercare.Channel
}

type queued struct {
	c   *aftercare.Claimed
	gen int
}

// start sends c once a slot is free and nothing is in flight to its
// patient on its channel, or releases it when ctx ends first.
func (t *tickSends) start(ctx context.Context, c *aftercare.Claimed, gen int) {
	k := chainKey{c.Message.PatientID, c.Message.Channel}
	t.mu.Lock()
	if waiting, busy := t.chains[k]; busy {
		t.chains[k] = append(waiting, queued{c, gen})
		t.mu.Unlock()
		return
	}
	t.chains[k] = nil
	t.mu.Unlock()
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
	}
	if ctx.Err() != nil {
		t.mu.Lock()
		delete(t.chains, k) // nothing was queued meanwhile: only Tick's loop calls start
		t.released = append(t.released, c.Message.ID)
		t.mu.Unlock()
		return
	}
	t.run(ctx, k, queued{c, gen})
}

// run sends q in the slot taken for it. Once the provider has answered,
// the slot goes to the next message waiting for the same patient and
// channel, or is freed: the next send starts while this one's outcome is
// being recorded.
func (t *tickSends) run(ctx context.Context, k chainKey, q queued) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		next := sync.OnceFunc(func() {
			t.mu.Lock()
			waiting := t.chains[k]
			if len(waiting) == 0 {
				delete(t.chains, k)
				t.mu.Unlock()
				<-t.sem
				return
			}
			t.chains[k] = waiting[1:]
			t.mu.Unlock()
			// Once ctx has ended, deliver releases it, and so on down
			// the chain.
			t.run(ctx, k, waiting[0])
		})
		defer next()
		started, err := t.d.deliver(withSendDone(ctx, next), q.c, q.gen)
		t.mu.Lock()
		defer t.mu.Unlock()
		if !started {
			t.released = append(t.released, q.c.Message.ID)
		} else {
			t.sent++
		}
		if err != nil {
			t.d.Logger.Error("recording an outcome failed", "message", q.c.Message.ID, "err", err)
		}
	}()
}

// deliver waits for the route's rate, sends one message and records the
// outcome. started is false when ctx ended before the send began, or the
// lease of the claim's generation lapsed (the message is released, not
// attempted).
func (d *Dispatcher) deliver(ctx context.Context, c *aftercare.Claimed, gen int) (started bool, err error) {
	m := c.Message
	route, ok := d.Routes[m.Channel]
	if !ok {
		return true, d.record(ctx, c, route, aftercare.Receipt{}, &aftercare.SendError{Kind: aftercare.Permanent, Code: "no-route", Message: fmt.Sprintf("no sender is configured for %s", m.Channel)}, 0, false)
	}
	if lim := d.limiters[m.Channel]; lim != nil {
		r := lim.ReserveN(d.Now(), 1)
		if err := d.Sleep(ctx, r.DelayFrom(d.Now())); err != nil {
			r.Cancel()
			return false, nil
		}
	}
	if ctx.Err() != nil || !d.leaseHeld(gen) {
		return false, nil
	}
	if out, err := d.optedOutSince(ctx, c); err != nil {
		d.Logger.Error("checking an opt-out before sending; released", "message", m.ID, "err", err)
		return false, nil
	} else if out {
		return true, d.skipOptedOut(ctx, c, route)
	}
	noticed := addNotice(c)
	pageURL, linked := d.addPageLink(ctx, c)
	out := outgoing(c)
	out.PageURL = pageURL
	// A send that started finishes even during shutdown: its outcome must be recorded.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.SendTimeout)
	defer cancel()
	d.emailExtras(sendCtx, c, out)
	start := d.Now()
	rcpt, sendErr := route.Sender.Send(sendCtx, out)
	d.failpoint("after-send")
	sendDone(ctx)
	return true, d.record(ctx, c, route, rcpt, sendErr, d.Now().Sub(start), noticed || linked)
}

// addNotice adds the opt-out notice to the first SMS of an enrollment that
// reaches a provider when its text lacks it (the text planned with it was
// skipped, expired or failed). It reports whether the text changed.
func addNotice(c *aftercare.Claimed) bool {
	m := c.Message
	if m.Channel != aftercare.SMS || !c.FirstSMS || aftercare.HasOptOutNotice(m.Body, m.Lang) {
		return false
	}
	m.Body, m.Segments = aftercare.WithOptOutNotice(m.Body, m.Lang)
	return true
}

func outgoing(c *aftercare.Claimed) *aftercare.Outgoing {
	m := c.Message
	o := &aftercare.Outgoing{
		MessageID: m.ID, ClinicID: m.ClinicID, Channel: m.Channel, ToName: c.Patient.Name,
		Subject: m.Subject, Body: m.Body, Lang: m.Lang, ClinicName: c.Clinic.Name, ClinicPhone: c.Clinic.Phone,
		ExpiresAt: m.ExpiresAt, Attempt: m.Attempts,
	}
	if m.Channel == aftercare.SMS {
		o.To, o.From = c.Patient.Phone, c.Clinic.SMSFrom
	} else {
		o.To, o.From = c.Patient.Email, c.Clinic.EmailFrom
	}
	return o
}

// record turns a send's result into an outcome and stores it.
// textChanged says the message's text is not the planned one any more
// (addNotice): the outcome records the text that was sent.
func (d *Dispatcher) record(ctx context.Context, c *aftercare.Claimed, route Route, rcpt aftercare.Receipt, sendErr error, latency time.Duration, textChanged bool) error {
	m := c.Message
	now := d.Now().UTC()
	o := &aftercare.Outcome{
		MessageID: m.ID, ClinicID: m.ClinicID, ClaimedBy: d.Owner,
		Attempt: aftercare.Attempt{ClinicID: m.ClinicID, MessageID: m.ID, Number: m.Attempts, At: now.Add(-latency), Channel: m.Channel,
			Sender: route.Name, Latency: latency},
		Sender: route.Name,
	}
	if textChanged {
		o.Body, o.Segments = m.Body, m.Segments
	}
	if rcpt.Sender != "" {
		o.Sender, o.Attempt.Sender = rcpt.Sender, rcpt.Sender
	}
	if sendErr == nil {
		o.Status = aftercare.StatusSent
		if rcpt.Final != "" {
			o.Status = rcpt.Final
		}
		o.SentAt, o.ProviderID, o.ProviderState = now, rcpt.ProviderID, rcpt.ProviderStatus
		if rcpt.Final == aftercare.StatusUndelivered {
			o.Error = rcpt.ProviderStatus
		}
	} else {
		var se *aftercare.SendError
		if !errors.As(sendErr, &se) {
			se = &aftercare.SendError{Kind: aftercare.Ambiguous, Message: sendErr.Error()}
		}
		o.ErrorCode, o.Error = se.Code, se.Message
		switch se.Kind {
		case aftercare.Transient:
			next := now.Add(d.backoff(m.Attempts))
			if se.RetryAfter > 0 && now.Add(se.RetryAfter).After(next) {
				next = now.Add(se.RetryAfter)
			}
			if next.Before(m.ExpiresAt) {
				o.Status, o.NextAttemptAt = aftercare.StatusPending, next
			} else {
				o.Status = aftercare.StatusExpired
				o.Error = fmt.Sprintf("%s (no retry possible before the message expired)", se.Message)
			}
		case aftercare.Permanent:
			o.Status, o.OptOut = aftercare.StatusFailed, se.OptOut
			o.Fallback = d.fallback(c, now)
		default:
			o.Status = aftercare.StatusUnknown
			o.Error = "outcome unknown, not resent: " + se.Message
		}
	}
	o.Attempt.ProviderID, o.Attempt.ProviderStatus = o.ProviderID, o.ProviderState
	o.Attempt.ErrorCode, o.Attempt.Error, o.Attempt.Outcome = o.ErrorCode, o.Error, o.Status
	d.observe(c, route, o, sendErr, latency)
	err := d.storeOutcome(ctx, o)
	// Logged once the outcome is recorded (or not): a reader of the log
	// who sees an attempt finds it in the delivery log too.
	d.Logger.Info("attempt", "message", m.ID, "clinic", m.ClinicID, "channel", m.Channel, "to", maskedTo(c),
		"sender", o.Sender, "status", o.Status, "code", o.ErrorCode, "latency_ms", latency.Milliseconds(),
		"recorded", err == nil)
	if aftercare.ErrorCode(err) == aftercare.ECONFLICT {
		d.Logger.Warn("outcome not recorded: the message was settled by someone else", "message", m.ID)
		return nil
	}
	return err
}

// fallback returns the email version of an SMS that failed permanently,
// when the clinic allows it and the patient can receive email.
func (d *Dispatcher) fallback(c *aftercare.Claimed, now time.Time) *aftercare.Message {
	m := c.Message
	if m.Channel != aftercare.SMS || !c.Clinic.EmailFallback || !c.Patient.CanReceive(aftercare.Email) {
		return nil
	}
	if _, ok := d.Routes[aftercare.Email]; !ok {
		return nil
	}
	return &aftercare.Message{
		ClinicID: m.ClinicID, EnrollmentID: m.EnrollmentID, PatientID: m.PatientID,
		StepKey: m.StepKey, Occurrence: m.Occurrence, Channel: aftercare.Email, Lang: m.Lang,
		Status: aftercare.StatusPending, SendAt: now, NextAttemptAt: now, ExpiresAt: m.ExpiresAt,
		Note:    "email fallback: the text message failed permanently",
		Subject: "A message from " + c.Clinic.Name, Body: m.Body,
	}
}

// backoff is exponential with jitter: base·2^(n-1), capped, then a random
// point in its upper half so that retries from many workers spread out.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	b := BackoffBase
	for i := 1; i < attempt && b < BackoffMax; i++ {
		b *= 2
	}
	if b > BackoffMax {
		b = BackoffMax
	}
	return b/2 + time.Duration(d.Jitter()*float64(b/2))
}

func maskedTo(c *aftercare.Claimed) string {
	if c.Message.Channel == aftercare.SMS {
		return aftercare.MaskPhone(c.Patient.Phone)
	}
	return aftercare.MaskEmail(c.Patient.Email)
}
