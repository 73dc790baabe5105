package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aftercare/aftercare"
)

// PurgeReport is what a purge of a clinic's old texts did (or, dry, would
// do).
type PurgeReport struct {
	Clinic        string    `json:"clinic"`
	RetentionDays int       `json:"retention_days"` // 0: the clinic keeps its texts; nothing was purged
	Before        time.Time `json:"before"`         // texts of messages settled before this were purged
	DryRun        bool      `json:"dry_run"`
	aftercare.PurgeCounts
}

// PurgeMarker is what a purged message's text becomes: it says why the
// text is gone, in the log and the patient's history.
func PurgeMarker(days int) string { return fmt.Sprintf("[purged after %d days]", days) }

// PurgeClinic purges the texts of the clinic's messages (and patients'
// replies) older than its RetentionDays (see aftercare.RetentionStore):
// states, times, attempts and counts stay. A clinic with RetentionDays 0
// keeps everything. A purge that changed something is in the audit log.
func (s *Service) PurgeClinic(ctx context.Context, clinic *aftercare.Clinic, dryRun bool) (*PurgeReport, error) {
	rep := &PurgeReport{Clinic: clinic.Slug, RetentionDays: clinic.RetentionDays, DryRun: dryRun}
	if clinic.RetentionDays <= 0 {
		return rep, nil
	}
	rep.Before = s.Now().UTC().AddDate(0, 0, -clinic.RetentionDays)
	n, err := s.Store.PurgeTexts(ctx, clinic.ID, rep.Before, PurgeMarker(clinic.RetentionDays), dryRun)
	if err != nil {
		return nil, err
	}
	rep.PurgeCounts = n
	if dryRun || n.Messages+n.Replies == 0 {
		return rep, nil
	}
	return rep, s.Audit(ctx, clinic.ID, aftercare.AuditPurge, "message texts",
		fmt.Sprintf("%d message texts and %d replies older than %d days purged", n.Messages, n.Replies, clinic.RetentionDays))
}

// PurgeAll is PurgeClinic for every clinic: the daily job. A clinic that
// fails does not stop the others; the errors are joined.
func (s *Service) PurgeAll(ctx context.Context) ([]*PurgeReport, error) {
	clinics, err := s.Store.ListClinics(ctx)
	if err != nil {
		return nil, err
	}
	var out []*PurgeReport
	var errs []error
	for _, c := range clinics {
		rep, err := s.PurgeClinic(ctx, c, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("purging clinic %s: %w", c.Slug, err))
			continue
		}
		out = append(out, rep)
	}
	return out, errors.Join(errs...)
}

// PurgeJob is the daily purge, for Jobs (cmd's serve registers it at
// 03:30 server time, when clinics are closed).
func (s *Service) PurgeJob(spec string) Job {
	return Job{Name: "purge", Spec: spec, Run: func(ctx context.Context) error {
		_, err := s.PurgeAll(ctx)
		return err
	}}
}
