package web

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	msgtext "github.com/aftercare/aftercare/templates"
)

// The patient's own page, /p/TOKEN: what to do today, what comes next and
// when things come back, in the patient's language. No sign-in and no
// cookie: the signed token (dispatch.PageLinks) is the only key, so the
// page shows no more than the texts do (scheduler.CarePage).

// pageWords are the page's own words; the messages bring theirs.
type pageWords struct {
	Title, Hi, Intro, Call, Today, NothingToday, Coming, Dates, Email, Sent, Footer string
	StoppedTitle, Stopped                                                           string
}

var ppageWords = map[string]pageWords{
	"en": {
		Title: "Your aftercare", Hi: "Hi", Intro: "Here are the instructions %s sent you, day by day.",
		Call: "Call", Today: "Today", NothingToday: "Nothing for today.", Coming: "Coming up",
		Dates: "Your dates, step by step", Email: "Email", Sent: "sent",
		Footer:       "These are your clinic's instructions. If you are unsure or worried, call the clinic.",
		StoppedTitle: "These messages have stopped",
		Stopped:      "%s stopped the aftercare messages for this treatment. If you have questions, call the clinic.",
	},
	"es": {
		Title: "Sus cuidados", Hi: "Hola", Intro: "Estas son las indicaciones que le envió %s, día a día.",
		Call: "Llamar al", Today: "Hoy", NothingToday: "Nada para hoy.", Coming: "Próximamente",
		Dates: "Sus fechas, paso a paso", Email: "Correo", Sent: "enviado",
		Footer:       "Estas son las indicaciones de su clínica. Si tiene dudas o le preocupa algo, llame a la clínica.",
		StoppedTitle: "Estos mensajes se han detenido",
		Stopped:      "%s detuvo los mensajes de cuidados de este tratamiento. Si tiene preguntas, llame a la clínica.",
	},
}

func wordsFor(lang string) (string, pageWords) {
	if lang == "es" || strings.HasPrefix(lang, "es-") {
		return "es", ppageWords["es"]
	}
	return "en", ppageWords["en"]
}

// PatientPageView is the data of the "ppage" template.
type PatientPageView struct {
	Lang  string
	W     pageWords
	Page  *scheduler.CarePage
	Error *pageError // set for a link that does not open
}

// pageError is a link that does not open, said in both languages: nothing
// in a bad or expired token says whose it was.
type pageError struct {
	Status     int
	EN, ES     string
	ENSub, ESS string
}

// Date and Time format a time in the page's language.
func (v PatientPageView) Date(t time.Time) string { return msgtext.FormatDate(t, v.Lang) }
func (v PatientPageView) Time(t time.Time) string { return msgtext.FormatTime(t, v.Lang) }

// Reflow joins the hard-wrapped lines of an email's paragraphs and list
// items (the convention of docs/protocols.md), so that a phone wraps them
// to its own width; paragraphs and items keep their own lines.
func (PatientPageView) Reflow(body string) string {
	var out []string
	open := false // the last line is a paragraph or item a next line continues
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			out, open = append(out, ""), false
		case open && !strings.HasPrefix(t, "- "):
			out[len(out)-1] += " " + t
		default:
			out, open = append(out, t), true
		}
	}
	return strings.Join(out, "\n")
}

// Printf fills a %s in the page's words.
func (PatientPageView) Printf(format, arg string) string {
	return strings.Replace(format, "%s", arg, 1)
}

func (s *Server) routesPatientPage(mux *http.ServeMux) {
	mux.HandleFunc("GET /p/{token}", s.patientPage)
}

func (s *Server) patientPage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Whoever holds the link sees the page: keep it out of caches, search
	// engines and the Referer of any link followed from it.
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	if s.Pages == nil || s.Pages.Signer == nil {
		s.renderPatientPage(w, PatientPageView{Lang: "en", Error: gonePage()})
		return
	}
	token := r.PathValue("token")
	now := s.Now()
	clinicID, id, err := s.Pages.Signer.Verify(aftercare.PurposePatientPage, token, now)
	if err != nil {
		// Authentic but expired reads as gone; anything else as refused.
		if _, _, err2 := s.Pages.Signer.Verify(aftercare.PurposePatientPage, token, time.Time{}); err2 == nil {
			s.renderPatientPage(w, PatientPageView{Lang: "en", Error: gonePage()})
			return
		}
		s.renderPatientPage(w, PatientPageView{Lang: "en", Error: &pageError{Status: http.StatusForbidden,
			EN: "This link does not work", ENSub: "It may have been cut short when it was copied. Open it again from the message your clinic sent you, or ask the clinic for it.",
			ES: "Este enlace no funciona", ESS: "Puede que se haya cortado al copiarlo. Ábralo de nuevo desde el mensaje de su clínica, o pídaselo a la clínica."}})
		return
	}
	page, err := s.Service.CarePage(r.Context(), clinicID, id, now)
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		s.renderPatientPage(w, PatientPageView{Lang: "en", Error: gonePage()})
		return
	}
	if err != nil {
		s.logger().Error("patient page", "clinic", clinicID, "enrollment", id, "err", err)
		http.Error(w, "This page could not be shown. Please try again later, or call your clinic.", http.StatusInternalServerError)
		return
	}
	lang, words := wordsFor(page.Lang)
	s.renderPatientPage(w, PatientPageView{Lang: lang, W: words, Page: page})
}

func gonePage() *pageError {
	return &pageError{Status: http.StatusGone,
		EN: "This link has expired", ENSub: "The aftercare messages it belonged to are over. If you have questions, call your clinic.",
		ES: "Este enlace ha caducado", ESS: "Los mensajes de cuidados a los que pertenecía han terminado. Si tiene preguntas, llame a su clínica."}
}

func (s *Server) renderPatientPage(w http.ResponseWriter, v PatientPageView) {
	status := http.StatusOK
	if v.Error != nil {
		status = v.Error.Status
	}
	s.renderPublic(w, status, "ppage", v, "the patient page", "This page could not be shown. Please try again later, or call your clinic.")
}

// renderPublic writes the patients' page template name (its own document,
// not the staff layout) with data and status. If it cannot be rendered, it
// logs why (what names the page) and answers 500 with sorry, in plain text.
func (s *Server) renderPublic(w http.ResponseWriter, status int, name string, data any, what, sorry string) {
	pages, err := pageTemplates.load()
	var buf bytes.Buffer
	if err == nil {
		err = pages[name].ExecuteTemplate(&buf, name, data)
	}
	if err != nil {
		s.logger().Error("rendering "+what, "err", err)
		http.Error(w, sorry, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
