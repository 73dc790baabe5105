package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// The unsubscribe link of every email (dispatch.SignedLinks): /u/TOKEN,
// a token signed for aftercare.PurposeUnsubscribe naming a clinic and a
// patient.
//
//   - POST unsubscribes at once: mail clients' unsubscribe buttons send
//     List-Unsubscribe=One-Click (RFC 8058) from anywhere, with no session
//     and no CSRF token, so the cross-origin check lets exactly this route
//     through (oneClickUnsubscribe); the signed token is its protection.
//   - GET changes nothing: link scanners and previews open links. It shows
//     a page with a button that posts.
//
// The pages are for the patient: in their language, naming the clinic and
// its phone, greeting them by first name at most, never naming the
// treatment. A link that is expired, tampered with or made for something
// else gets 403 and a page saying so, and nothing changes.

// unsubscribeSource is the consent history's source of these opt-outs.
const unsubscribeSource = "email:unsubscribe"

func (s *Server) routesUnsubscribe(mux *http.ServeMux) {
	mux.HandleFunc("GET /u/{token}", s.unsubscribeForm)
	mux.HandleFunc("POST /u/{token}", s.unsubscribe)
}

// oneClickUnsubscribe reports whether r is a POST to an unsubscribe link,
// the one unsafe request the cross-origin check lets through.
func oneClickUnsubscribe(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.URL.Path, "/u/")
	return ok && r.Method == http.MethodPost && tok != "" && tok != "." && tok != ".." && !strings.Contains(tok, "/")
}

// UnsubscribePage is the data of the "unsubscribe" template.
type UnsubscribePage struct {
	Lang    string
	Title   string
	Heading string
	Lead    string
	Note    string
	Token   string // set on the confirmation page: the form posts to /u/Token
	Button  string
	// Back is the way back ("Changed your mind? Call ...") or, for a link
	// that is not valid, how to reach the clinic; a tel: link to Phone
	// follows it when the clinic has a phone.
	Back      string
	Phone     string // as people read it
	PhoneE164 string
	After     string // the text after the phone link
	// Both, on a link that names no clinic, shows the page in English and
	// in Spanish: there is no telling the patient's language.
	Both bool
}

// unsubscribeTarget returns the clinic and patient a token names. A token
// that is not valid returns EFORBIDDEN, and the clinic and patient too when
// the token is genuine but expired (so that the page can say whom to call)
// or nil when nothing can be told.
func (s *Server) unsubscribeTarget(ctx context.Context, token string) (*aftercare.Clinic, *aftercare.Patient, error) {
	invalid := aftercare.Errorf(aftercare.EFORBIDDEN, "this link is not valid")
	if s.Signer == nil {
		return nil, nil, invalid
	}
	clinicID, patientID, verr := s.Signer.Verify(aftercare.PurposeUnsubscribe, token, s.Now())
	if verr != nil {
		// Verified at the Unix epoch, before any expiry, a token passes
		// only if it is genuine: then it has merely expired, and its
		// clinic can be named.
		var err error
		if clinicID, patientID, err = s.Signer.Verify(aftercare.PurposeUnsubscribe, token, time.Unix(0, 0)); err != nil {
			return nil, nil, verr
		}
	}
	c, err := s.Store.FindClinicByID(ctx, clinicID)
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		return nil, nil, invalid
	}
	if err != nil {
		return nil, nil, err
	}
	p, err := s.Store.FindPatient(ctx, c.ID, patientID)
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		return nil, nil, invalid
	}
	if err != nil {
		return nil, nil, err
	}
	return c, p, verr
}

func (s *Server) unsubscribeForm(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	c, p, err := s.unsubscribeTarget(r.Context(), token)
	if err != nil {
		s.unsubscribeFailed(w, r, c, p, err)
		return
	}
	t := unsubscribeTexts(p.Lang)
	page := t.page(c)
	if !p.EmailOptOut.IsZero() {
		page.Heading = fmt.Sprintf(t.already, c.Name)
		page.Lead = t.nothingToDo
	} else {
		page.Heading = fmt.Sprintf(t.confirm, c.Name)
		page.Lead = fmt.Sprintf(t.press, c.Name)
		if first := p.FirstName(); first != "" {
			page.Lead = fmt.Sprintf(t.pressNamed, first, c.Name)
		}
		page.Note, page.Token, page.Button = t.textsStay, token, t.button
		page.Back = fmt.Sprintf(t.questionsAsk, c.Name)
		if c.Phone != "" {
			page.Back = fmt.Sprintf(t.questionsCall, c.Name)
		}
	}
	page.Title = page.Heading
	s.renderUnsubscribe(w, http.StatusOK, page)
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	// The body (List-Unsubscribe=One-Click) is not needed: the POST is the request.
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	c, p, err := s.unsubscribeTarget(r.Context(), r.PathValue("token"))
	if err != nil {
		s.unsubscribeFailed(w, r, c, p, err)
		return
	}
	ev := &aftercare.ConsentEvent{ClinicID: c.ID, PatientID: p.ID, Channel: aftercare.Email,
		Action: aftercare.ConsentWithdrawn, At: s.Now().UTC(), Source: unsubscribeSource}
	changed, err := s.Store.SetConsent(r.Context(), ev)
	if err != nil {
		s.unsubscribeFailed(w, r, c, p, err)
		return
	}
	s.logger().Info("unsubscribed from email", "clinic", c.ID, "patient", p.ID, "changed", changed)
	t := unsubscribeTexts(p.Lang)
	page := t.page(c)
	page.Heading, page.Lead, page.Note = t.done, fmt.Sprintf(t.noMore, c.Name), t.textsStay
	page.Title = page.Heading
	s.renderUnsubscribe(w, http.StatusOK, page)
}

// unsubscribeFailed answers a link that is not valid (403), naming the
// clinic when it is known, or a failure of the store (500); nothing changed.
func (s *Server) unsubscribeFailed(w http.ResponseWriter, r *http.Request, c *aftercare.Clinic, p *aftercare.Patient, err error) {
	code := aftercare.ErrorCode(err)
	if code != aftercare.EFORBIDDEN {
		s.logger().Error("unsubscribe failed", "path", "/u/…", "err", err)
	}
	status := http.StatusForbidden
	if code != aftercare.EFORBIDDEN {
		status = http.StatusInternalServerError
	}
	expired := strings.Contains(aftercare.ErrorMessage(err), "expired")
	if c == nil || p == nil {
		en, es := unsubscribeTexts("en"), unsubscribeTexts("es")
		page := UnsubscribePage{Lang: "en", Both: true, Title: en.invalid,
			Heading: en.invalid + " · " + es.invalid, Lead: en.askClinic, Note: es.askClinic}
		if status != http.StatusForbidden {
			page.Heading, page.Lead, page.Note = en.broken+" · "+es.broken, en.tryLater, es.tryLater
		}
		s.renderUnsubscribe(w, status, page)
		return
	}
	t := unsubscribeTexts(p.Lang)
	page := t.page(c)
	page.Heading, page.Lead = t.invalid, t.cutShort
	if expired {
		page.Lead = t.expired
	}
	if status != http.StatusForbidden {
		page.Heading, page.Lead = t.broken, t.tryLater
	}
	page.Title = page.Heading
	page.Back = fmt.Sprintf(t.toStopCall, c.Name)
	if c.Phone == "" {
		page.Back = fmt.Sprintf(t.toStopAsk, c.Name)
	}
	s.renderUnsubscribe(w, status, page)
}

// renderUnsubscribe writes the patient's page: its own document (not the
// staff layout), not cached, not indexed, and its token never sent on as
// a referrer.
func (s *Server) renderUnsubscribe(w http.ResponseWriter, status int, page UnsubscribePage) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex")
	h.Set("Referrer-Policy", "no-referrer")
	s.renderPublic(w, status, "unsubscribe", page, "the unsubscribe page", "this page could not be shown; please call the clinic")
}

// unsubscribeText is the wording of the pages in one language; %s is the
// clinic's name unless said otherwise.
type unsubscribeText struct {
	lang                        string
	confirm, press              string
	pressNamed                  string // first name, clinic
	button, textsStay           string
	already, nothingToDo        string
	done, noMore                string
	changedCall, changedAsk     string
	questionsCall, questionsAsk string
	invalid, cutShort, expired  string
	toStopCall, toStopAsk       string
	askClinic, broken, tryLater string
}

var unsubscribeWording = map[string]unsubscribeText{
	"en": {
		lang:          "en",
		confirm:       "Stop emails from %s?",
		press:         "Press the button to stop the aftercare emails from %s.",
		pressNamed:    "Hi %s, press the button to stop the aftercare emails from %s.",
		button:        "Stop the emails",
		textsStay:     "Text messages are not affected: to stop them, reply STOP to one.",
		already:       "You get no more emails from %s",
		nothingToDo:   "There is nothing more to do.",
		done:          "You are unsubscribed",
		noMore:        "%s will send you no more aftercare emails.",
		changedCall:   "Changed your mind? Call %s at",
		changedAsk:    "Changed your mind? Tell %s.",
		questionsCall: "Questions? Call %s at",
		questionsAsk:  "Questions? Ask %s.",
		invalid:       "This link is not valid",
		cutShort:      "It may have been cut short when it was copied. Nothing was changed.",
		expired:       "It has expired. Nothing was changed.",
		toStopCall:    "To stop the emails, call %s at",
		toStopAsk:     "To stop the emails, tell %s.",
		askClinic:     "Nothing was changed. To stop the emails, contact the clinic that sent them.",
		broken:        "Something went wrong",
		tryLater:      "Nothing was changed. Please try again later, or call the clinic that sent the emails.",
	},
	"es": {
		lang:          "es",
		confirm:       "¿Dejar de recibir correos de %s?",
		press:         "Pulse el botón para dejar de recibir los correos de cuidados de %s.",
		pressNamed:    "Hola, %s: pulse el botón para dejar de recibir los correos de cuidados de %s.",
		button:        "Dejar de recibir correos",
		textsStay:     "Los mensajes de texto no cambian: para dejarlos, responda STOP a uno.",
		already:       "Ya no recibe correos de %s",
		nothingToDo:   "No hace falta nada más.",
		done:          "Se ha dado de baja",
		noMore:        "%s no le enviará más correos de cuidados.",
		changedCall:   "¿Cambió de opinión? Llame a %s al",
		changedAsk:    "¿Cambió de opinión? Dígaselo a %s.",
		questionsCall: "¿Preguntas? Llame a %s al",
		questionsAsk:  "¿Preguntas? Pregunte a %s.",
		invalid:       "Este enlace no es válido",
		cutShort:      "Puede que se cortara al copiarlo. No se ha cambiado nada.",
		expired:       "Ha caducado. No se ha cambiado nada.",
		toStopCall:    "Para dejar de recibir los correos, llame a %s al",
		toStopAsk:     "Para dejar de recibir los correos, dígaselo a %s.",
		askClinic:     "No se ha cambiado nada. Para dejar de recibir los correos, contacte con la clínica que se los envió.",
		broken:        "Algo ha fallado",
		tryLater:      "No se ha cambiado nada. Inténtelo más tarde o llame a la clínica que le envió los correos.",
	},
}

// unsubscribeTexts returns the wording in lang ("es-MX" reads "es"),
// English for a language it does not have.
func unsubscribeTexts(lang string) unsubscribeText {
	base, _, _ := strings.Cut(strings.ToLower(lang), "-")
	if t, ok := unsubscribeWording[base]; ok {
		return t
	}
	return unsubscribeWording["en"]
}

// page starts a page for clinic c with the way back filled in.
func (t unsubscribeText) page(c *aftercare.Clinic) UnsubscribePage {
	p := UnsubscribePage{Lang: t.lang, Back: fmt.Sprintf(t.changedAsk, c.Name)}
	if c.Phone != "" {
		p.Back, p.Phone, p.PhoneE164, p.After = fmt.Sprintf(t.changedCall, c.Name), aftercare.DisplayPhone(c.Phone), c.Phone, "."
	}
	return p
}
