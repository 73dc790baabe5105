package scheduler

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aftercare/aftercare"
)

// ImportColumns are the columns of a patients CSV, in any order; a header
// row naming them is required.
var ImportColumns = []string{"name", "phone", "email", "tz", "lang", "protocol", "treated_at", "sms_consent", "email_consent"}

// RowError is one CSV row that was not enrolled.
type RowError struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// ImportReport says what an import did.
type ImportReport struct {
	Rows     int        `json:"rows"`     // data rows read
	Enrolled int        `json:"enrolled"` // new enrollments
	Existing int        `json:"existing"` // rows already enrolled before (a re-run)
	Errors   []RowError `json:"errors"`   // rows not enrolled, with line and reason
}

// ImportBatch is how many enrollments go into one transaction.
const ImportBatch = 500

// Import enrolls the rows of a patients CSV: valid rows are enrolled (in
// batches, each all or nothing), each invalid row is reported with its line
// number and reason, and rows enrolled before are recognised, so a re-run
// creates nothing new. progress, if not nil, is called as rows are done
// (total is -1 when unknown). A file that cannot be read as CSV with the
// required header is EINVALID and nothing is enrolled.
func (s *Service) Import(ctx context.Context, clinic *aftercare.Clinic, r io.Reader, name string, progress func(done int)) (*ImportReport, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, aftercare.Errorf(aftercare.EINVALID, "%s is empty: the first line must name the columns %s", name, strings.Join(ImportColumns, ","))
	} else if err != nil {
		return nil, aftercare.Errorf(aftercare.EINVALID, "%s: %v", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; dup {
			return nil, aftercare.Errorf(aftercare.EINVALID, "%s line 1: column %q appears twice", name, h)
		}
		col[h] = i
	}
	var missing []string
	for _, c := range ImportColumns {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, aftercare.Errorf(aftercare.EINVALID, "%s line 1: missing column(s) %s; the header must name %s", name, strings.Join(missing, ", "), strings.Join(ImportColumns, ","))
	}
	for h := range col {
		if !contains(ImportColumns, h) {
			return nil, aftercare.Errorf(aftercare.EINVALID, "%s line 1: unknown column %q; the columns are %s", name, h, strings.Join(ImportColumns, ","))
		}
	}

	rep := &ImportReport{Errors: []RowError{}}
	now := s.Now().UTC()
	var batch []*aftercare.NewEnrollment
	keys := map[string]bool{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		created, err := s.Store.EnrollBatch(ctx, batch)
		if err != nil {
			return err
		}
		for _, c := range created {
			if c {
				rep.Enrolled++
			} else {
				rep.Existing++
			}
		}
		batch = batch[:0]
		if progress != nil {
			progress(rep.Rows)
		}
		return nil
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rep.Rows++
				rep.Errors = append(rep.Errors, RowError{Line: pe.Line, Reason: pe.Err.Error()})
				continue
			}
			return rep, err
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		rep.Rows++
		get := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		req := EnrollRequest{
			Name: get("name"), Phone: get("phone"), Email: get("email"), TZ: get("tz"), Lang: get("lang"),
			Protocol: get("protocol"), TreatedAt: get("treated_at"),
			Source: fmt.Sprintf("import:%s:%d", name, line),
		}
		var bad *RowError
		if req.SMSConsent, err = ParseBool(get("sms_consent")); err != nil {
			bad = &RowError{Line: line, Field: "sms_consent", Reason: err.Error()}
		} else if req.EmailConsent, err = ParseBool(get("email_consent")); err != nil {
			bad = &RowError{Line: line, Field: "email_consent", Reason: err.Error()}
		}
		if bad != nil {
			rep.Errors = append(rep.Errors, *bad)
			continue
		}
		ne, err := s.prepare(ctx, clinic, req, now)
		if err != nil {
			if aftercare.ErrorCode(err) != aftercare.EINVALID {
				return rep, err
			}
			var ae *aftercare.Error
			errors.As(err, &ae)
			rep.Errors = append(rep.Errors, RowError{Line: line, Field: ae.Field, Reason: ae.Message})
			continue
		}
		if keys[ne.Enrollment.Key] {
			rep.Existing++ // the same row twice in one file
			continue
		}
		keys[ne.Enrollment.Key] = true
		batch = append(batch, ne)
		if len(batch) == ImportBatch {
			if err := flush(); err != nil {
				return rep, err
			}
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	return rep, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
