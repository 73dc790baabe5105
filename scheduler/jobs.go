package scheduler

import (
	"context"
	"log/slog"

	"github.com/robfig/cron/v3"

	"github.com/aftercare/aftercare"
)

// Job is a named piece of periodic work.
type Job struct {
	Name string
	Spec string // robfig/cron spec: "@every 1s", "*/5 * * * *"
	Run  func(ctx context.Context) error
}

// Jobs runs Jobs on robfig/cron. A job never overlaps itself: a tick that
// comes while the previous run is busy is skipped. Later jobs (daily
// summaries, purges) are added the same way.
type Jobs struct {
	c      *cron.Cron
	ctx    context.Context
	cancel context.CancelFunc
	logger *slog.Logger
}

// NewJobs parses every spec first and returns EINVALID naming the job whose
// spec is wrong; nothing is started.
func NewJobs(logger *slog.Logger, jobs ...Job) (*Jobs, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	j := &Jobs{c: cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger))), ctx: ctx, cancel: cancel, logger: logger}
	for _, job := range jobs {
		job := job
		if _, err := j.c.AddFunc(job.Spec, func() {
			if err := job.Run(j.ctx); err != nil {
				logger.Error("job failed", "job", job.Name, "err", err)
			}
		}); err != nil {
			cancel()
			return nil, aftercare.Errorf(aftercare.EINVALID, "job %s: bad schedule %q: %v (e.g. \"@every 1s\" or \"*/5 * * * *\")", job.Name, job.Spec, err)
		}
	}
	return j, nil
}

// Start runs the jobs in the background.
func (j *Jobs) Start() { j.c.Start() }

// Cancel starts no new runs and cancels the context of the running ones,
// which finish what they started (a send in flight) and start nothing
// more; it does not wait. Stop waits.
func (j *Jobs) Cancel() {
	j.c.Stop()
	j.cancel()
}

// Stop cancels the jobs (see Cancel) and waits for the running ones to
// finish, or for ctx.
func (j *Jobs) Stop(ctx context.Context) {
	done := j.c.Stop()
	j.cancel()
	select {
	case <-done.Done():
	case <-ctx.Done():
	}
}
