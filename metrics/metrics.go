// Package metrics exposes Aftercare to Prometheus: counters and histograms
// the dispatcher feeds as it sends (it implements dispatch.Metrics), and
// gauges of the messages by state and channel read from the store when
// Prometheus scrapes, cached for a few seconds so that scrapes never load
// the database. Prometheus types stay inside this package: the dispatcher
// sees dispatch.Metrics, serve sees an http.Handler.
//
// Labels carry no patient data: a clinic's slug, a channel, a state, a
// provider's name and its error code, never a number, an address or text.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler/dispatch"
)

// Store is what the scrape reads: every clinic (for its slug) and the
// messages counted by clinic, state and channel.
type Store interface {
	ListClinics(ctx context.Context) ([]*aftercare.Clinic, error)
	CountMessages(ctx context.Context, now time.Time) ([]aftercare.MessageCount, error)
}

// DefaultCacheFor is how long one reading of the message counts serves
// scrapes.
const DefaultCacheFor = 5 * time.Second

// Metrics is Aftercare's Prometheus registry: its own, not the global
// default, so that tests and several servers in one process never share
// counts. Make it with New.
type Metrics struct {
	reg *prometheus.Registry

	attempts  *prometheus.CounterVec
	errors    *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	lateness  *prometheus.HistogramVec
	takeovers prometheus.Counter
	counts    *countCollector
}

var _ dispatch.Metrics = (*Metrics)(nil)

// Options tune New; the zero value is serve's.
type Options struct {
	// Now is the clock for the due backlog and the cache (default time.Now).
	Now func() time.Time
	// CacheFor is how long a reading of the counts is served at least
	// (default DefaultCacheFor); a reading that took long is served ten
	// times as long as it took, so the database spends at most a tenth of
	// its time on scrapes however often they come.
	CacheFor time.Duration
	// Logger gets scrape errors (default: discarded).
	Logger *slog.Logger
}

// New returns the metrics of a server on store, with the Go runtime's and
// the process's collectors.
func New(store Store, o Options) *Metrics {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CacheFor <= 0 {
		o.CacheFor = DefaultCacheFor
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftercare_send_attempts_total",
			Help: "Messages handed to a provider, by provider (twilio, smtp, outbox), channel and the outcome recorded (sent, pending for a retry, failed, unknown...).",
		}, []string{"provider", "channel", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftercare_send_errors_total",
			Help: "Failed attempts, by provider, the provider's error code (Twilio 21610, SMTP 550; none when it gave none) and kind (transient: retried; permanent: failed; ambiguous: unknown, never resent).",
		}, []string{"provider", "code", "kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aftercare_provider_latency_seconds",
			Help:    "How long the provider took to answer one send, by provider.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"provider"}),
		lateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aftercare_send_lateness_seconds",
			Help:    "Sent time minus the message's due time, for messages a provider took, by channel.",
			Buckets: []float64{1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600},
		}, []string{"channel"}),
		takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aftercare_claim_takeovers_total",
			Help: "Claims of a serve whose lease lapsed (it crashed or hung) taken over by the reconciler: each message became unknown.",
		}),
		counts: &countCollector{store: store, now: o.Now, cacheFor: o.CacheFor, logger: o.Logger},
	}
	m.reg.MustRegister(m.attempts, m.errors, m.latency, m.lateness, m.takeovers, m.counts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format. A failed read
// of the message counts leaves those out and serves the rest.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:      m.reg, // counts promhttp's own errors and scrapes in flight
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(m.counts.logger.Handler(), slog.LevelError),
	})
}

// Registry is the registry, for tests that read one metric
// (prometheus/testutil).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Attempt counts one attempt (dispatch.Metrics).
func (m *Metrics) Attempt(a dispatch.AttemptStats) {
	provider := a.Provider
	if provider == "" {
		provider = "none"
	}
	m.attempts.WithLabelValues(provider, string(a.Channel), string(a.Status)).Inc()
	if a.Kind != 0 {
		code := a.Code
		if code == "" {
			code = "none"
		} else if len(code) > 32 {
			code = code[:32] // a code, not a message: keep the label set small
		}
		m.errors.WithLabelValues(provider, code, a.Kind.String()).Inc()
	}
	if a.Called {
		m.latency.WithLabelValues(provider).Observe(a.Latency.Seconds())
	}
	if a.Sent {
		m.lateness.WithLabelValues(string(a.Channel)).Observe(max(0, a.Late.Seconds()))
	}
}

// TakenOver counts claims taken over (dispatch.Metrics).
func (m *Metrics) TakenOver(n int) { m.takeovers.Add(float64(n)) }

var (
	messagesDesc = prometheus.NewDesc("aftercare_messages",
		"Messages of the delivery log by clinic (slug), channel and state; pending messages a day or more ahead may not be counted yet. Read from the database at most every few seconds.",
		[]string{"clinic", "channel", "state"}, nil)
	dueDesc = prometheus.NewDesc("aftercare_messages_due",
		"Pending messages whose time has come (due now or earlier) and that no serve has claimed yet, by clinic and channel: the backlog.",
		[]string{"clinic", "channel"}, nil)
	channels = []aftercare.Channel{aftercare.SMS, aftercare.Email}
)

// countCollector reads the message counts at scrape time, at most once
// per cacheFor; concurrent scrapes wait for the one reading.
type countCollector struct {
	store    Store
	now      func() time.Time
	cacheFor time.Duration
	logger   *slog.Logger

	mu      sync.Mutex
	readAt  time.Time
	fresh   time.Duration // how long the reading at readAt is served
	metrics []prometheus.Metric
}

func (c *countCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- messagesDesc
	ch <- dueDesc
}

func (c *countCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.metrics == nil || now.Sub(c.readAt) >= c.fresh || now.Before(c.readAt) {
		ms, err := c.read(now)
		if err != nil {
			c.logger.Error("metrics: counting messages failed", "err", err)
			ch <- prometheus.NewInvalidMetric(messagesDesc, err)
			return
		}
		took := c.now().Sub(now)
		c.metrics, c.readAt, c.fresh = ms, now, max(c.cacheFor, 10*took)
	}
	for _, m := range c.metrics {
		ch <- m
	}
}

// read counts the messages: every state and channel of every clinic, 0
// included, so that a series never vanishes when its count drops to 0.
func (c *countCollector) read(now time.Time) ([]prometheus.Metric, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clinics, err := c.store.ListClinics(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := c.store.CountMessages(ctx, now.UTC())
	if err != nil {
		return nil, err
	}
	type key struct {
		clinic int64
		ch     aftercare.Channel
		st     aftercare.Status
	}
	n, due := map[key]int{}, map[key]int{}
	for _, mc := range counts {
		n[key{mc.ClinicID, mc.Channel, mc.Status}] += mc.Count
		due[key{mc.ClinicID, mc.Channel, ""}] += mc.Due
	}
	var out []prometheus.Metric
	for _, cl := range clinics {
		for _, ch := range channels {
			for _, st := range aftercare.Statuses {
				out = append(out, prometheus.MustNewConstMetric(messagesDesc, prometheus.GaugeValue,
					float64(n[key{cl.ID, ch, st}]), cl.Slug, string(ch), string(st)))
			}
			out = append(out, prometheus.MustNewConstMetric(dueDesc, prometheus.GaugeValue,
				float64(due[key{cl.ID, ch, ""}]), cl.Slug, string(ch)))
		}
	}
	return out, nil
}
