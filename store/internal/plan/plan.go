// Package plan holds what both store engines share about pending messages
// kept on their enrollment rather than as rows of messages: which messages
// are kept (Keeps, Horizon), the kept message itself (Kept, Owner), the
// form of the enrollments' planned column that holds them (codec.go), and
// how a list of message rows takes them in (Merge). Each engine keeps its
// own queries (store/sqlite/plan.go, store/postgres/plan.go).
package plan

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

// Horizon is how far ahead messages are rows of the messages table. A
// pending message planned to go Horizon or more after it is planned is
// kept in its enrollment's planned column instead, with the id it is given
// then, and ClaimDue makes it a row once it is due within Horizon of the
// time ClaimDue is given. Every read of an enrollment's or a patient's
// messages (ListMessages with EnrollmentID or PatientID, ListEnrollments'
// counts, Reschedule, CancelEnrollment) sees kept messages as the pending
// messages they are, and so does DailyStats; the clinic-wide log lists
// rows only.
//
// A day leaves the dispatcher a day's slack: messages are rows long before
// they are due even if it was down for hours, and an import of patients
// treated this week writes about a tenth of the rows it plans.
const Horizon = 24 * time.Hour

// MaxThawPerClaim bounds how many enrollments one ClaimDue makes the kept
// messages of into rows, soonest first, so that a claim after a long
// downtime stays short; the next claim goes on.
const MaxThawPerClaim = 500

// Kept is a pending message kept on its enrollment.
type Kept struct {
	ID       int64
	Step     string
	Occ      int
	Channel  aftercare.Channel
	Lang     string
	SendAt   time.Time
	Expires  time.Time
	Note     string
	TextID   int64
	Segments int
}

// Keeps reports whether m, planned at now, is kept on its enrollment: a
// pending message that was never tried, due Horizon or more after now.
func Keeps(m *aftercare.Message, now time.Time) bool {
	return m.Status == aftercare.StatusPending && m.Attempts == 0 &&
		(m.NextAttemptAt.IsZero() || m.NextAttemptAt.Equal(m.SendAt)) &&
		!m.SendAt.Before(now.Add(Horizon))
}

// KeptOf is m (Keeps(m) holds), given id and the id of its text, as it is
// kept: its times as stored (check.PlannedTimes).
func KeptOf(m *aftercare.Message, id, textID int64) Kept {
	send, expires, _ := check.PlannedTimes(m)
	return Kept{ID: id, Step: m.StepKey, Occ: m.Occurrence, Channel: m.Channel, Lang: m.Lang,
		SendAt: send, Expires: expires, Note: m.Note, TextID: textID, Segments: m.Segments}
}

// Owner is an enrollment that keeps messages.
type Owner struct {
	ID, ClinicID, PatientID int64
	Protocol                string // slug
	CreatedAt               time.Time
	Kept                    []Kept // in send time order
}

// Message returns k as the message it stands for, of enrollment o: pending,
// never tried, created and updated at the enrollment's creation.
func (k *Kept) Message(o *Owner) *aftercare.Message {
	return &aftercare.Message{
		ID: k.ID, ClinicID: o.ClinicID, EnrollmentID: o.ID, PatientID: o.PatientID,
		StepKey: k.Step, Occurrence: k.Occ, Channel: k.Channel, Lang: k.Lang,
		Status: aftercare.StatusPending, SendAt: k.SendAt, ExpiresAt: k.Expires, Note: k.Note,
		Segments: k.Segments, NextAttemptAt: k.SendAt, CreatedAt: o.CreatedAt, UpdatedAt: o.CreatedAt,
	}
}

// Due returns how many of ks (in send time order) are due before cutoff:
// all of them for a zero cutoff.
func Due(ks []Kept, cutoff time.Time) int {
	if cutoff.IsZero() {
		return len(ks)
	}
	n := 0
	for n < len(ks) && ks[n].SendAt.Before(cutoff) {
		n++
	}
	return n
}

// TextIDs returns the text ids the owners' kept messages use, each once.
func TextIDs(os []*Owner) []int64 {
	seen := map[int64]bool{}
	var ids []int64
	for _, o := range os {
		for _, k := range o.Kept {
			if !seen[k.TextID] {
				seen[k.TextID] = true
				ids = append(ids, k.TextID)
			}
		}
	}
	return ids
}

// Messages returns the messages kept on os as the pending messages they
// stand for, each with the subject and body text gives for its text id,
// and the protocol slug of each owner by enrollment id (for Merge).
func Messages(os []*Owner, text func(id int64) (subject, body string)) ([]*aftercare.Message, map[int64]string) {
	var ms []*aftercare.Message
	slugs := make(map[int64]string, len(os))
	for _, o := range os {
		slugs[o.ID] = o.Protocol
		for i := range o.Kept {
			m := o.Kept[i].Message(o)
			m.Subject, m.Body = text(o.Kept[i].TextID)
			ms = append(ms, m)
		}
	}
	return ms, slugs
}

// CountDays adds to counts, as pending on their send day in loc, the
// messages of one enrollment's planned column that are due in
// [since, until) (DailyStats); an error is the column's, unreadable.
func CountDays(counts map[aftercare.DayStat]int, planned []byte, since, until time.Time, loc *time.Location) error {
	ks, err := Parse(planned)
	if err != nil {
		return err
	}
	for _, k := range ks {
		if !k.SendAt.Before(since) && k.SendAt.Before(until) {
			counts[aftercare.DayStat{Day: k.SendAt.In(loc).Format(time.DateOnly), Status: aftercare.StatusPending}]++
		}
	}
	return nil
}

// DayStats is counts (DailyStats' tally of rows and kept messages, by day
// and status) as DailyStats returns it: by day, then status.
func DayStats(counts map[aftercare.DayStat]int) []aftercare.DayStat {
	out := make([]aftercare.DayStat, 0, len(counts))
	for k, n := range counts {
		k.Count = n
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b aftercare.DayStat) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(string(a.Status), string(b.Status)))
	})
	return out
}

// ForgetKeptTexts deletes from texts (text ids) those the messages kept
// in one enrollment's planned column use (retention: a text goes once no
// message, row or kept, uses it); an error is the column's, unreadable.
func ForgetKeptTexts(texts map[int64]bool, planned []byte) error {
	ks, err := Parse(planned)
	if err != nil {
		return err
	}
	for _, k := range ks {
		delete(texts, k.TextID)
	}
	return nil
}

// Merge adds kept to ms (both in (SendAt, ID) order) as ListMessages
// would have returned them had they been rows, for filter f; slugs gives
// the protocol slug of each kept message's enrollment. Its conditions
// repeat the engines' listMessages SQL in Go: change them together. The
// storetest case FarAhead/FiltersAgreeWithRows lists near (row) and far
// (kept) messages through every MessageFilter field and fails when the two
// disagree.
func Merge(ms, kept []*aftercare.Message, slugs map[int64]string, f aftercare.MessageFilter) []*aftercare.Message {
	n := len(ms)
	for _, m := range kept {
		if f.EnrollmentID != 0 && m.EnrollmentID != f.EnrollmentID ||
			f.PatientID != 0 && m.PatientID != f.PatientID ||
			len(f.Statuses) > 0 && !slices.Contains(f.Statuses, aftercare.StatusPending) ||
			f.Channel != "" && m.Channel != f.Channel ||
			f.ProtocolSlug != "" && slugs[m.EnrollmentID] != f.ProtocolSlug ||
			!f.Since.IsZero() && m.SendAt.Before(f.Since) ||
			!f.Until.IsZero() && !m.SendAt.Before(f.Until) ||
			(!f.AfterSendAt.IsZero() || f.AfterID != 0) && !AfterKey(m, f.AfterSendAt, f.AfterID) {
			continue
		}
		ms = append(ms, m)
	}
	if len(ms) == n {
		return ms
	}
	slices.SortFunc(ms, CompareSendID)
	if f.Limit > 0 && len(ms) > f.Limit {
		ms = ms[:f.Limit]
	}
	return ms
}

// AfterKey reports whether m comes after (at, id) in (SendAt, ID) order,
// at taken to the millisecond in UTC as stored times are.
func AfterKey(m *aftercare.Message, at time.Time, id int64) bool {
	if !at.IsZero() {
		at = at.UTC().Truncate(time.Millisecond)
	}
	if c := m.SendAt.Compare(at); c != 0 {
		return c > 0
	}
	return m.ID > id
}

// CompareSendID orders messages as ListMessages returns them: by SendAt,
// then ID.
func CompareSendID(a, b *aftercare.Message) int {
	if c := a.SendAt.Compare(b.SendAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}
