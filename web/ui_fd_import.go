package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
	"weak"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// Imports run in the background: the upload answers at once with a page
// that shows the progress and then the report. A job lives in memory only
// (a restart forgets it; what it stored stays stored), belongs to the
// clinic and user that started it, and at most maxImportJobs are kept.
const (
	maxImportJobs = 50
	// importWaitMax bounds how long GET /import/{id}/progress?wait=1 holds
	// the request open waiting for the end.
	importWaitMax = 30 * time.Second
)

// importJob is one CSV import.
type importJob struct {
	ID       string
	ClinicID int64
	UserID   int64
	By       string // the user's name
	File     string
	Started  time.Time
	Total    int // data rows counted before starting
	done     chan struct{}

	mu       sync.Mutex
	rows     int // rows done so far
	finished time.Time
	report   *scheduler.ImportReport
	err      error
}

// ImportStatus is a job as the pages and the progress JSON show it.
type ImportStatus struct {
	Done     int                     `json:"done"`
	Total    int                     `json:"total"`
	Finished bool                    `json:"finished"`
	URL      string                  `json:"report"`
	Report   *scheduler.ImportReport `json:"-"`
	// Failed is what stopped the import, "" when it ran to the end.
	Failed string `json:"-"`
	// Invalid: the file was refused as a whole (nothing was stored).
	Invalid bool `json:"-"`
}

func (j *importJob) progress(done int) {
	j.mu.Lock()
	j.rows = done
	j.mu.Unlock()
}

func (j *importJob) finish(rep *scheduler.ImportReport, err error, at time.Time) {
	j.mu.Lock()
	j.report, j.err, j.finished = rep, err, at
	if rep != nil {
		j.rows = rep.Rows
	}
	j.mu.Unlock()
	close(j.done)
}

func (j *importJob) status() ImportStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := ImportStatus{Done: j.rows, Total: j.Total, Finished: !j.finished.IsZero(), URL: "/import/" + j.ID, Report: j.report}
	if st.Finished {
		st.Total = st.Done // the count before the start was an estimate
	}
	if st.Done > st.Total {
		st.Total = st.Done
	}
	if j.err != nil {
		if aftercare.InputError(j.err) {
			st.Failed, st.Invalid = aftercare.ErrorMessage(j.err), true
		} else {
			st.Failed = "an internal error (the details are in the server log)"
		}
	}
	return st
}

// importJobs is one server's jobs, oldest first.
type importJobs struct {
	mu   sync.Mutex
	jobs []*importJob
}

// add keeps j, forgetting the oldest finished job when maxImportJobs are
// kept. EINVALID (too busy) when all of them are still running.
func (js *importJobs) add(j *importJob) error {
	js.mu.Lock()
	defer js.mu.Unlock()
	if len(js.jobs) >= maxImportJobs {
		i := slices.IndexFunc(js.jobs, func(o *importJob) bool {
			select {
			case <-o.done:
				return true
			default:
				return false
			}
		})
		if i < 0 {
			return aftercare.FieldErrorf("file", "%d imports are running at the moment; wait for one to finish and upload again", len(js.jobs))
		}
		js.jobs = slices.Delete(js.jobs, i, i+1)
	}
	js.jobs = append(js.jobs, j)
	return nil
}

// find returns the job with that id if it belongs to the clinic; another
// clinic's job does not exist.
func (js *importJobs) find(clinicID int64, id string) (*importJob, error) {
	js.mu.Lock()
	defer js.mu.Unlock()
	for _, j := range js.jobs {
		if j.ID == id && j.ClinicID == clinicID {
			return j, nil
		}
	}
	return nil, aftercare.Errorf(aftercare.ENOTFOUND, "there is no import %q: imports are kept in memory until the server restarts, and only the latest %d", id, maxImportJobs)
}

// ofClinic lists the clinic's jobs, newest first.
func (js *importJobs) ofClinic(clinicID int64) []*importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	var out []*importJob
	for i := len(js.jobs) - 1; i >= 0; i-- {
		if js.jobs[i].ClinicID == clinicID {
			out = append(out, js.jobs[i])
		}
	}
	return out
}

// importRegistry holds each Server's jobs. Server's fields belong to
// server.go, so the jobs live beside it, keyed by a weak pointer: a Server
// that is dropped (the tests start many) is not kept alive by its jobs.
var importRegistry struct {
	mu sync.Mutex
	m  map[weak.Pointer[Server]]*importJobs
}

func (s *Server) imports() *importJobs {
	importRegistry.mu.Lock()
	defer importRegistry.mu.Unlock()
	if importRegistry.m == nil {
		importRegistry.m = map[weak.Pointer[Server]]*importJobs{}
	}
	for k := range importRegistry.m {
		if k.Value() == nil {
			delete(importRegistry.m, k)
		}
	}
	k := weak.Make(s)
	js := importRegistry.m[k]
	if js == nil {
		js = &importJobs{}
		importRegistry.m[k] = js
	}
	return js
}

// ImportColumn documents a column of the CSV.
type ImportColumn struct {
	Name, Example, Meaning string
	Required               bool
}

// ImportPage is the data of the "import" template.
type ImportPage struct {
	Errors    FieldErrors
	Columns   []ImportColumn
	Protocols []*aftercare.Protocol
	Jobs      []ImportJobView
}

// NavSection marks "Import" in the menu.
func (ImportPage) NavSection() string { return "import" }

// ImportJobView is a job in a list or on its own page.
type ImportJobView struct {
	ID, File, By string
	Started      time.Time
	Status       ImportStatus
}

// ImportJobPage is the data of the "fd_import_job" template: progress
// while the import runs, the report when it has finished.
type ImportJobPage struct {
	Job ImportJobView
}

// NavSection marks "Import" in the menu.
func (ImportJobPage) NavSection() string { return "import" }

// Stored is the number of rows the report accounts for as stored now
// (new enrollments and rows that were already enrolled).
func (p ImportJobPage) Stored() int {
	if r := p.Job.Status.Report; r != nil {
		return r.Enrolled + r.Existing
	}
	return 0
}

func (s *Server) importColumns(c *aftercare.Clinic, protocols []*aftercare.Protocol) []ImportColumn {
	slug, langs := "microneedling", "en"
	if len(protocols) > 0 {
		slug = protocols[0].Slug
		langs = strings.Join(protocols[0].Languages, ", ")
	}
	var slugs []string
	for _, p := range protocols {
		slugs = append(slugs, p.Slug)
	}
	day := s.Now().In(clinicZone(c)).Format("2006-01-02")
	return []ImportColumn{
		{"name", "Ana García", "The patient's full name.", true},
		{"phone", "+1 415 555 0100", "Mobile number for texts. Without a country code it is read as a " + c.Country + " number. A phone or an email is required.", false},
		{"email", "ana@example.com", "Email address. A phone or an email is required.", false},
		{"tz", c.TZ, "The patient's time zone (IANA name): messages follow the patient's clock.", true},
		{"lang", strings.SplitN(langs, ",", 2)[0], "Language of the texts (" + langs + " for " + slug + "). Empty: the protocol's first language.", false},
		{"protocol", slug, "The protocol: " + strings.Join(slugs, ", ") + ".", true},
		{"treated_at", day + "T14:30", "When the treatment ended, in the patient's local time (YYYY-MM-DDTHH:MM).", true},
		{"sms_consent", "yes", "Yes if the patient agreed to texts, otherwise no.", false},
		{"email_consent", "no", "Yes if the patient agreed to emails, otherwise no.", false},
	}
}

func (s *Server) newImportPage(ctx context.Context, p *Principal) (*ImportPage, error) {
	protocols, err := s.Store.ListProtocols(ctx, p.Clinic.ID)
	if err != nil {
		return nil, err
	}
	page := &ImportPage{Errors: FieldErrors{}, Columns: s.importColumns(p.Clinic, protocols), Protocols: protocols}
	for _, j := range s.imports().ofClinic(p.Clinic.ID) {
		page.Jobs = append(page.Jobs, viewOf(j))
	}
	return page, nil
}

func viewOf(j *importJob) ImportJobView {
	return ImportJobView{ID: j.ID, File: j.File, By: j.By, Started: j.Started, Status: j.status()}
}

func (s *Server) importForm(w http.ResponseWriter, r *http.Request) {
	page, err := s.newImportPage(r.Context(), principal(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "import", "Import a day's list", page)
}

// importTemplate is a CSV with the header and two example rows.
func (s *Server) importTemplate(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	protocols, err := s.Store.ListProtocols(r.Context(), p.Clinic.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cols := s.importColumns(p.Clinic, protocols)
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(scheduler.ImportColumns)
	ex := make([]string, len(cols))
	for i, c := range cols {
		ex[i] = c.Example
	}
	cw.Write(ex)
	second := map[string]string{"name": "Ben Okafor", "phone": "(415) 555-0101", "email": "", "sms_consent": "yes", "email_consent": "no"}
	for i, c := range cols {
		if v, ok := second[c.Name]; ok {
			ex[i] = v
		}
		if c.Name == "treated_at" {
			ex[i] = strings.Replace(c.Example, "14:30", "15:15", 1)
		}
	}
	cw.Write(ex)
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="aftercare-import-template.csv"`)
	w.Write(buf.Bytes())
}

// importUpload checks the file's shape, then starts the import in the
// background and sends the browser to its progress page.
func (s *Server) importUpload(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	page, err := s.newImportPage(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, data, total, err := readImportFile(r)
	var job *importJob
	if err == nil {
		job = &importJob{ID: newJobID(), ClinicID: p.Clinic.ID, UserID: p.User.ID, By: p.User.Name, File: name,
			Started: s.Now(), Total: total, done: make(chan struct{})}
		err = s.imports().add(job)
	}
	if err != nil {
		if !fieldError(page.Errors, err, "file") {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusBadRequest, "import", "Import a day's list", page)
		return
	}
	s.logger().Info("import started", "clinic", p.Clinic.ID, "file", name, "rows", total, "by", p.Actor(), "job", job.ID)
	clinic := p.Clinic
	// The import outlives the request that started it.
	ctx := context.WithoutCancel(r.Context())
	go func() {
		var rep *scheduler.ImportReport
		var err error
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("import panicked: %v", v)
			}
			if err != nil {
				s.logger().Error("import failed", "clinic", clinic.ID, "file", name, "job", job.ID, "err", err)
			}
			job.finish(rep, err, s.Now())
		}()
		rep, err = s.Service.Import(ctx, clinic, bytes.NewReader(data), name, job.progress)
		if rep != nil {
			s.logger().Info("import finished", "clinic", clinic.ID, "file", name, "job", job.ID,
				"rows", rep.Rows, "enrolled", rep.Enrolled, "existing", rep.Existing, "errors", len(rep.Errors))
		}
	}()
	http.Redirect(w, r, "/import/"+job.ID, http.StatusSeeOther)
}

// maxImportFile bounds an upload (a day's list is a few hundred rows; the
// page's body limit is larger).
const maxImportFile = 5 << 20

// readImportFile reads the uploaded file and checks what can be checked
// before importing: that it is CSV text with the required header. It
// returns a clean file name (recorded in each enrollment's source), the
// bytes, and the number of data rows. Problems are EINVALID on "file".
func readImportFile(r *http.Request) (name string, data []byte, rows int, err error) {
	f, fh, err := r.FormFile("file")
	if errors.Is(err, http.ErrMissingFile) || errors.Is(err, http.ErrNotMultipart) {
		return "", nil, 0, aftercare.FieldErrorf("file", "Choose the CSV file to import.")
	} else if err != nil {
		return "", nil, 0, aftercare.FieldErrorf("file", "The upload could not be read (%v); try again.", err)
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, maxImportFile+1))
	if err != nil {
		return "", nil, 0, aftercare.FieldErrorf("file", "The upload could not be read (%v); try again.", err)
	}
	name = cleanFileName(fh.Filename)
	switch {
	case len(data) > maxImportFile:
		return "", nil, 0, aftercare.FieldErrorf("file", "%s is larger than %d MB; split the list into smaller files.", name, maxImportFile>>20)
	case len(bytes.TrimSpace(data)) == 0:
		return "", nil, 0, aftercare.FieldErrorf("file", "%s is empty. The first line must name the columns: %s.", name, strings.Join(scheduler.ImportColumns, ","))
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return "", nil, 0, aftercare.FieldErrorf("file", "%s is a spreadsheet (.xlsx), not CSV. In the spreadsheet choose File › Save as › CSV UTF-8, and upload that file.", name)
	case !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0:
		return "", nil, 0, aftercare.FieldErrorf("file", "%s is not UTF-8 text. Save it as \"CSV UTF-8\" (in Excel: File › Save as › CSV UTF-8) and upload it again.", name)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return "", nil, 0, aftercare.FieldErrorf("file", "The first line of %s cannot be read as CSV (%v).", name, err)
	}
	seen := map[string]bool{}
	var unknown []string
	for _, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(scheduler.ImportColumns, h) {
			unknown = append(unknown, fmt.Sprintf("%q", h))
		}
		seen[h] = true
	}
	var missing []string
	for _, c := range scheduler.ImportColumns {
		if !seen[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 || len(unknown) > 0 {
		var why []string
		if len(missing) > 0 {
			why = append(why, "it has no column "+strings.Join(missing, ", "))
		}
		if len(unknown) > 0 {
			why = append(why, "it has unknown column "+strings.Join(unknown, ", "))
		}
		return "", nil, 0, aftercare.FieldErrorf("file", "The first line of %s must name the columns %s: %s. Nothing was imported.", name, strings.Join(scheduler.ImportColumns, ","), strings.Join(why, "; "))
	}
	// Count the rows the way Import does (blank lines are not rows), for
	// the progress bar.
	for {
		rec, err := cr.Read()
		var pe *csv.ParseError
		if err == io.EOF || (err != nil && !errors.As(err, &pe)) {
			break
		}
		if err == nil && len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		rows++
	}
	if rows == 0 {
		return "", nil, 0, aftercare.FieldErrorf("file", "%s has the header line but no patients.", name)
	}
	return name, data, rows, nil
}

// cleanFileName keeps the base name of an upload, without control
// characters and not too long: it is recorded as the enrollments' source.
func cleanFileName(n string) string {
	n = path.Base(strings.ReplaceAll(n, "\\", "/"))
	n = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == ':' {
			return -1
		}
		return r
	}, n)
	if r := []rune(n); len(r) > 80 {
		n = string(r[:80])
	}
	if n == "" || n == "." || n == "/" {
		n = "upload.csv"
	}
	return n
}

func newJobID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) findImportJob(r *http.Request) (*importJob, error) {
	return s.imports().find(principal(r).Clinic.ID, r.PathValue("id"))
}

func (s *Server) importJobPage(w http.ResponseWriter, r *http.Request) {
	j, err := s.findImportJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := ImportJobPage{Job: viewOf(j)}
	title := "Importing " + j.File
	if page.Job.Status.Finished {
		title = "Import of " + j.File
	}
	s.render(w, r, http.StatusOK, "fd_import_job", title, page)
}

// importProgress answers the progress bar's polls. With ?wait=1 it answers
// when the import has finished (or after importWaitMax), so a client can
// wait without polling.
func (s *Server) importProgress(w http.ResponseWriter, r *http.Request) {
	j, err := s.findImportJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("wait") != "" {
		t := time.NewTimer(importWaitMax)
		select {
		case <-j.done:
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
	}
	writeJSON(w, http.StatusOK, j.status())
}
