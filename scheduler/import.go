package scheduler

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// ImportBatch is how many rows of a file go into one transaction (at most
// that many enrollments, all written or none).
const ImportBatch = 1000

// Import enrolls the rows of a patients CSV: valid rows are enrolled (in
// batches of ImportBatch rows, each all or nothing), each invalid row is
// reported with its line number and reason, and rows enrolled before are
// recognised, so a re-run creates nothing new. Rows are planned as if they
// were enrolled one by one in file order: a patient's row counts, toward the
// daily cap, the messages of that patient's rows before it. progress, if not
// nil, is called with the number of rows done after each batch. A file that
// cannot be read as CSV with the required header is EINVALID and nothing is
// enrolled.
func (s *Service) Import(ctx context.Context, clinic *aftercare.Clinic, r io.Reader, name string, progress func(done int)) (*ImportReport, error) {
	rep, err := s.importFile(ctx, clinic, r, name, progress, ImportBatch)
	if rep != nil && (err == nil || rep.Enrolled > 0) {
		detail := fmt.Sprintf("%d rows: %d enrolled, %d enrolled before, %d refused", rep.Rows, rep.Enrolled, rep.Existing, len(rep.Errors))
		if err != nil {
			detail += "; stopped: " + aftercare.ErrorMessage(err)
		}
		if aerr := s.Audit(ctx, clinic.ID, aftercare.AuditImport, name, detail); aerr != nil && err == nil {
			err = aerr
		}
	}
	return rep, err
}

// importFile is Import in chunks of batch rows.
func (s *Service) importFile(ctx context.Context, clinic *aftercare.Clinic, r io.Reader, name string, progress func(done int), batch int) (*ImportReport, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
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
		if !slices.Contains(ImportColumns, h) {
			return nil, aftercare.Errorf(aftercare.EINVALID, "%s line 1: unknown column %q; the columns are %s", name, h, strings.Join(ImportColumns, ","))
		}
	}

	im := &importer{s: s, clinic: clinic, now: s.Now().UTC(), name: name, col: col, batch: batch,
		keys: map[string]bool{}, protocols: map[string]*protocolLookup{}}
	return im.run(ctx, cr, progress)
}

// An import reads the file in chunks of ImportBatch rows and handles each
// in stages: check every row (in parallel), look up in one query the
// stored patients the chunk names, plan every row (in parallel), and write
// the chunk with EnrollBatch, all or nothing. The write of one chunk (one
// core, in SQLite) runs while the next is checked and planned (the other
// cores), so an import takes about the time of its writes.
//
// Rows are planned as if they were enrolled one by one in file order: a
// patient who has several rows (several treatments) gets, for each, the
// daily cap counted with the messages planned for the rows before, and the
// consent those gave. The rows of one patient in a chunk are planned in
// order by one goroutine; a chunk with a patient of the chunk being written
// waits for that write before it asks the store about its patients.

// importer is one Import.
type importer struct {
	s      *Service
	clinic *aftercare.Clinic
	now    time.Time
	name   string
	col    map[string]int
	batch  int // rows per chunk: ImportBatch (tests use fewer)

	keys map[string]bool // enrollment keys of the file so far

	mu        sync.Mutex
	protocols map[string]*protocolLookup // by slug
}

// protocolLookup is the protocol a slug names, looked up once per import.
type protocolLookup struct {
	once sync.Once
	cp   *Compiled
	err  error
}

// importRow is one data row on its way through the stages.
type importRow struct {
	line int
	req  EnrollRequest
	c    *checked
	ne   *aftercare.NewEnrollment
	bad  *RowError // not enrolled, and why
	stop error     // a failure that is not the row's: the import stops
	dup  bool      // the same enrollment as an earlier row of the file
	// A patient's rows in the chunk are planned in file order, the first
	// (first is true) by a worker that then plans next, and so on.
	first bool
	next  *importRow
}

// chunk is ImportBatch rows of the file.
type chunk struct {
	rows []*importRow
	read int // data rows of the file up to the end of the chunk
}

// write is a chunk being written.
type write struct {
	c       *chunk
	batch   []*aftercare.NewEnrollment
	keys    map[string]bool // the patients' match keys
	done    chan struct{}
	created []bool
	err     error
}

func (im *importer) run(ctx context.Context, cr *csv.Reader, progress func(done int)) (*ImportReport, error) {
	rep := &ImportReport{Errors: []RowError{}}
	var w *write // the chunk being written
	// finish waits for w and adds its outcome to rep.
	finish := func() error {
		if w == nil {
			return nil
		}
		<-w.done
		done := w
		w = nil
		if done.err != nil {
			return done.err
		}
		im.report(rep, done.c, done.created)
		if progress != nil {
			progress(rep.Rows)
		}
		return nil
	}
	defer func() { _ = finish() }() // an early return carries its own error

	read := 0
	for eof := false; !eof; {
		c := &chunk{}
		for len(c.rows) < im.batch {
			row, err := im.read(cr)
			if errors.Is(err, io.EOF) {
				eof = true
				break
			}
			if err != nil {
				return rep, err
			}
			if row != nil {
				c.rows = append(c.rows, row)
			}
		}
		read += len(c.rows)
		c.read = read
		if err := ctx.Err(); err != nil {
			return rep, err
		}

		im.parallel(c.rows, func(r *importRow) { im.check(ctx, r) })
		if err := rowsFailed(c.rows); err != nil {
			return rep, err
		}
		if im.group(c.rows, w) {
			// A patient of the chunk is in the one being written: what the
			// store says about them must include it.
			if err := finish(); err != nil {
				return rep, err
			}
		}
		known, err := im.lookup(ctx, c.rows)
		if err != nil {
			return rep, err
		}
		im.parallel(c.rows, func(r *importRow) {
			if r.first {
				im.plan(ctx, r, known[r.c.patient.MatchKey()])
			}
		})
		if err := rowsFailed(c.rows); err != nil {
			return rep, err
		}

		if err := finish(); err != nil {
			return rep, err
		}
		w = &write{c: c, keys: map[string]bool{}, done: make(chan struct{})}
		for _, r := range c.rows {
			if r.ne != nil {
				w.batch = append(w.batch, r.ne)
				w.keys[r.c.patient.MatchKey()] = true
			}
		}
		if len(w.batch) == 0 {
			close(w.done)
			continue
		}
		go func(w *write) {
			defer close(w.done)
			w.created, w.err = im.s.Store.EnrollBatch(ctx, w.batch)
		}(w)
	}
	if err := finish(); err != nil {
		return rep, err
	}
	return rep, nil
}

// read returns the next data row (nil for a blank line), a row whose CSV is
// broken as a row error, io.EOF at the end, or the reader's error.
func (im *importer) read(cr *csv.Reader) (*importRow, error) {
	rec, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, err
	}
	line, _ := cr.FieldPos(0)
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &importRow{line: pe.Line, bad: &RowError{Line: pe.Line, Reason: pe.Err.Error()}}, nil
		}
		return nil, err
	}
	if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
		return nil, nil // blank line
	}
	get := func(c string) string {
		if i := im.col[c]; i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	r := &importRow{line: line, req: EnrollRequest{
		Name: get("name"), Phone: get("phone"), Email: get("email"), TZ: get("tz"), Lang: get("lang"),
		Protocol: get("protocol"), TreatedAt: get("treated_at"),
		Source: fmt.Sprintf("import:%s:%d", im.name, line),
	}}
	if r.req.SMSConsent, err = ParseBool(get("sms_consent")); err != nil {
		r.bad = &RowError{Line: line, Field: "sms_consent", Reason: err.Error()}
	} else if r.req.EmailConsent, err = ParseBool(get("email_consent")); err != nil {
		r.bad = &RowError{Line: line, Field: "email_consent", Reason: err.Error()}
	}
	return r, nil
}

// parallel calls fn for every row not refused yet, on one goroutine per
// CPU but one: the previous chunk's write runs meanwhile and has the last
// (measured on 2 cores, with the writer and the planners about as busy:
// 5,633-5,822 enrollments/s with two planners, 6,041-6,205 with one).
func (im *importer) parallel(rows []*importRow, fn func(r *importRow)) {
	workers := min(max(1, runtime.GOMAXPROCS(0)-1), len(rows))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(rows) {
					return
				}
				if r := rows[i]; r.bad == nil && !r.dup {
					fn(r)
				}
			}
		})
	}
	wg.Wait()
}

// rowError records err as r's: an EINVALID error is the row's, reported
// with its line and field; any other stops the import.
func rowError(r *importRow, err error) {
	var ae *aftercare.Error
	if aftercare.InputError(err) && errors.As(err, &ae) {
		r.bad = &RowError{Line: r.line, Field: ae.Field, Reason: ae.Message}
	} else {
		r.stop = err
	}
}

// rowsFailed returns the first error of rows that stops the import.
func rowsFailed(rows []*importRow) error {
	for _, r := range rows {
		if r.stop != nil {
			return r.stop
		}
	}
	return nil
}

// check validates r and finds its protocol; a row that fails gets its error.
func (im *importer) check(ctx context.Context, r *importRow) {
	c, err := im.s.check(ctx, im.clinic, r.req, im.now, im.protocol, nil)
	if err != nil {
		rowError(r, err)
		return
	}
	r.c = c
}

// protocol returns the latest version of slug, looked up once per import.
func (im *importer) protocol(ctx context.Context, slug string) (*Compiled, error) {
	im.mu.Lock()
	l := im.protocols[slug]
	if l == nil {
		l = &protocolLookup{}
		im.protocols[slug] = l
	}
	im.mu.Unlock()
	l.once.Do(func() { l.cp, l.err = im.s.Protocol(ctx, im.clinic.ID, slug, 0) })
	return l.cp, l.err
}

// group marks the rows that repeat an earlier row of the file (the same
// enrollment), and chains the rows of one patient in file order. It
// reports whether a patient of rows is in the chunk w is writing.
func (im *importer) group(rows []*importRow, w *write) bool {
	last := map[string]*importRow{} // by match key
	for _, r := range rows {
		if r.bad != nil {
			continue
		}
		if im.keys[r.c.key] {
			r.dup = true
			continue
		}
		im.keys[r.c.key] = true
		mk := r.c.patient.MatchKey()
		if prev := last[mk]; prev != nil {
			prev.next = r
		} else {
			r.first = true
		}
		last[mk] = r
	}
	if w == nil {
		return false
	}
	select {
	case <-w.done:
		return false // written (or failed) already
	default:
	}
	for mk := range last {
		if w.keys[mk] {
			return true
		}
	}
	return false
}

// stored is what the store has of a patient named in a chunk.
type stored struct {
	patient *aftercare.Patient
	busy    []Busy // live messages, which count toward the daily cap
	// keys are the patient's enrollments (read only for a patient with
	// several rows in the chunk).
	keys map[string]bool
}

// lookup returns what the store has of the patients of rows, by match key.
func (im *importer) lookup(ctx context.Context, rows []*importRow) (map[string]*stored, error) {
	var keys []string
	several := map[string]bool{}
	for _, r := range rows {
		if r.first {
			keys = append(keys, r.c.patient.MatchKey())
			several[r.c.patient.MatchKey()] = r.next != nil
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	patients, err := im.s.Store.FindPatientsByMatchKey(ctx, im.clinic.ID, keys)
	if err != nil {
		return nil, err
	}
	known := make(map[string]*stored, len(patients))
	for mk, p := range patients {
		st := &stored{patient: p}
		if st.busy, err = im.s.busy(ctx, im.clinic.ID, p.ID, 0); err != nil {
			return nil, err
		}
		if several[mk] {
			st.keys = map[string]bool{}
			f := aftercare.EnrollmentFilter{ClinicID: im.clinic.ID, PatientID: p.ID}
			for {
				page, err := im.s.Store.ListEnrollments(ctx, f)
				if err != nil {
					return nil, err
				}
				for _, e := range page {
					st.keys[e.Enrollment.Key] = true
				}
				if len(page) == 0 {
					break
				}
				f.BeforeID = page[len(page)-1].Enrollment.ID
			}
		}
		known[mk] = st
	}
	return known, nil
}

// plan plans the first row of a patient in the chunk and then the rows
// after it, each as if the ones before were enrolled already: their consent
// holds and their messages count toward the daily cap.
func (im *importer) plan(ctx context.Context, first *importRow, st *stored) {
	var old *aftercare.Patient
	var live []Busy
	if st != nil {
		old, live = st.patient, st.busy
	}
	for r := first; r != nil; r = r.next {
		// A row that would send nothing is an error unless the store has
		// its enrollment (a re-run of a file after its messages went out).
		enrolled := func() (bool, error) {
			switch {
			case st == nil:
				return false, nil
			case st.keys != nil:
				return st.keys[r.c.key], nil
			}
			return im.s.hasEnrollment(ctx, im.clinic.ID, st.patient, r.c.key)
		}
		ne, err := r.c.plan(im.clinic, old, live, im.now, enrolled)
		if err != nil {
			rowError(r, err)
			if r.stop != nil {
				return
			}
			continue
		}
		r.ne = ne
		if r.next == nil || st != nil && st.keys[ne.Enrollment.Key] {
			continue // last, or enrolled before: counted in st already
		}
		old = planned(old, ne.Patient)
		live = append(live[:len(live):len(live)], busyOf(ne.Messages)...)
	}
}

// planned returns the patient old (nil if new) as the store leaves it once
// p is enrolled: with p's consent where old had none.
func planned(old, p *aftercare.Patient) *aftercare.Patient {
	if old == nil {
		return p
	}
	merged := *old
	if !merged.SMSConsent.Given() {
		merged.SMSConsent = p.SMSConsent
	}
	if !merged.EmailConsent.Given() {
		merged.EmailConsent = p.EmailConsent
	}
	return &merged
}

// busyOf returns the messages of a plan that count toward the daily cap.
func busyOf(msgs []*aftercare.Message) []Busy {
	var b []Busy
	for _, m := range msgs {
		if m.Status == aftercare.StatusPending {
			b = append(b, Busy{At: m.SendAt, Channel: m.Channel})
		}
	}
	return b
}

// report adds to rep what happened to the rows of a chunk written (created
// from EnrollBatch, in the order of the chunk's enrollments).
func (im *importer) report(rep *ImportReport, c *chunk, created []bool) {
	rep.Rows = c.read
	k := 0
	for _, r := range c.rows {
		switch {
		case r.bad != nil:
			rep.Errors = append(rep.Errors, *r.bad)
		case r.dup:
			rep.Existing++ // the same row twice in one file
		case r.ne != nil:
			if created[k] {
				rep.Enrolled++
			} else {
				rep.Existing++
			}
			k++
		}
	}
}
