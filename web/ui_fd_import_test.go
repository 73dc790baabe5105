package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// The import jobs' bookkeeping, which the end-to-end tests cannot catch in
// the middle: imports there finish before the next request.

func TestImportJobsBound(t *testing.T) {
	t.Parallel()
	var js importJobs
	jobs := make([]*importJob, maxImportJobs)
	for i := range jobs {
		jobs[i] = &importJob{ID: string(rune('A' + i)), ClinicID: 1, done: make(chan struct{})}
		if err := js.add(jobs[i]); err != nil {
			t.Fatal(err)
		}
	}
	extra := &importJob{ID: "extra", ClinicID: 1, done: make(chan struct{})}
	if err := js.add(extra); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Fatalf("adding a job while %d run: %v, want EINVALID", maxImportJobs, err)
	}
	// Once one has finished, it is forgotten to make room.
	jobs[3].finish(&scheduler.ImportReport{}, nil, time.Now())
	if err := js.add(extra); err != nil {
		t.Fatal(err)
	}
	if _, err := js.find(1, jobs[3].ID); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("the finished job is still kept: %v", err)
	}
	if _, err := js.find(1, "extra"); err != nil {
		t.Errorf("the new job: %v", err)
	}
	if _, err := js.find(2, "extra"); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("another clinic found the job: %v", err)
	}
	if n := len(js.ofClinic(1)); n != maxImportJobs {
		t.Errorf("%d jobs kept, want %d", n, maxImportJobs)
	}
}

func TestImportJobPageRunning(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)
	s := &Server{Now: func() time.Time { return now }}
	clinic := &aftercare.Clinic{ID: 7, Name: "Glow", TZ: "America/Los_Angeles", Country: "US"}
	p := &Principal{Clinic: clinic, Role: aftercare.RoleFrontDesk,
		User:    &aftercare.User{ID: 3, ClinicID: 7, Name: "Fran", Email: "fran@glow.example"},
		Session: &aftercare.Session{CSRF: "token"}}
	j := &importJob{ID: "job1", ClinicID: 7, UserID: 3, By: "Fran", File: "monday.csv", Started: now, Total: 1200, done: make(chan struct{})}
	if err := s.imports().add(j); err != nil {
		t.Fatal(err)
	}
	j.progress(500)

	get := func(path string) (int, string) {
		r := httptest.NewRequest("GET", path, nil)
		r.SetPathValue("id", "job1")
		r = r.WithContext(withPrincipal(r.Context(), p))
		w := httptest.NewRecorder()
		if strings.HasSuffix(path, "/progress") {
			s.importProgress(w, r)
		} else {
			s.importJobPage(w, r)
		}
		return w.Code, w.Body.String()
	}
	code, body := get("/import/job1")
	for _, want := range []string{`data-progress="/import/job1/progress"`, `<progress id="import-progress" max="1200" value="500">`, "500 of 1200 rows"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("running import page: %d, lacks %q\n%s", code, want, body)
		}
	}
	if code, body := get("/import/job1/progress"); code != 200 || strings.TrimSpace(body) != `{"done":500,"total":1200,"finished":false,"report":"/import/job1"}` {
		t.Errorf("progress: %d %s", code, body)
	}

	j.finish(&scheduler.ImportReport{Rows: 1199, Enrolled: 1190, Existing: 9, Errors: []scheduler.RowError{}}, nil, now)
	if code, body := get("/import/job1/progress"); code != 200 || strings.TrimSpace(body) != `{"done":1199,"total":1199,"finished":true,"report":"/import/job1"}` {
		t.Errorf("progress at the end: %d %s", code, body)
	}
	code, body = get("/import/job1")
	if code != 200 || strings.Contains(body, "data-progress") || !strings.Contains(body, `1190</span> new enrollments stored`) || !strings.Contains(body, "9 rows were already enrolled") {
		t.Errorf("finished import page: %d\n%s", code, body)
	}
}

func TestImportJobFailed(t *testing.T) {
	t.Parallel()
	j := &importJob{ID: "j", Total: 10, done: make(chan struct{})}
	j.finish(&scheduler.ImportReport{Rows: 600, Enrolled: 500}, aftercare.Errorf(aftercare.EINTERNAL, "disk full"), time.Now())
	st := j.status()
	if st.Invalid || !strings.Contains(st.Failed, "internal error") || strings.Contains(st.Failed, "disk") || st.Report.Enrolled != 500 {
		t.Errorf("status after an internal failure: %+v", st)
	}
	j = &importJob{ID: "k", done: make(chan struct{})}
	j.finish(nil, aftercare.Errorf(aftercare.EINVALID, "day.csv line 1: column \"name\" appears twice"), time.Now())
	if st := j.status(); !st.Invalid || !strings.Contains(st.Failed, "appears twice") {
		t.Errorf("status after a refused file: %+v", st)
	}
}
