package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/web"
)

// TestBrowserInbox: a patient's reply, posted by the Twilio fake as Twilio
// posts it, shows in the inbox with the unread count in the navigation;
// the front desk answers from the patient's page and the answer reaches
// Twilio; marking it read clears the count.
func TestBrowserInbox(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	fake := twiliotest.NewServer(t, twiliotest.WithClock(app.Now))
	tw, err := twilio.New(twilio.Config{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: twilioFrom, BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	d := &dispatch.Dispatcher{Store: app.DB, Now: app.Now, Owner: "t/1", Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "twilio", Sender: tw}}}
	app.Server.Twilio = &web.TwilioWebhook{
		Valid: func(u string, f url.Values, sig string) bool { return twilio.ValidSignature(fake.AuthToken, u, f, sig) },
		Parse: twilio.ParseStatus,
		ParseInbound: func(f url.Values) (scheduler.InboundSMS, bool) {
			in, ok := twilio.ParseInbound(f)
			return scheduler.InboundSMS{SID: in.SID, From: in.From, To: in.To, Body: in.Body}, ok
		},
	}
	app.Server.Inbound = &scheduler.Inbound{Store: app.DB, Dispatcher: d, ServerFrom: twilioFrom, Now: app.Now}
	res, err := app.Service.Enroll(ctx, app.Main, scheduler.EnrollRequest{Name: "Ana Ruiz", Phone: "+14155550100", TZ: "America/Los_Angeles",
		Lang: "en", Protocol: "microneedling", TreatedAt: app.Now().Format(time.RFC3339), SMSConsent: true, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	sentBefore := fake.Count()
	_, resp, err := fake.SendInbound(ctx, nil, app.URL+"/twilio/inbound", "+14155550100", twilioFrom, "Is the tightness normal tonight?")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("inbound: %v %v", resp, err)
	}
	resp.Body.Close()

	bctx := newChrome(t, 1280, 900)
	email, pw := app.User(app.Main, aftercare.RoleFrontDesk)
	signInBrowser(t, bctx, app, email, pw)
	if n := bfRun(t, bctx, "reading the unread count", chromedp.Text(chromedp.ID("nav-unread"))); strings.TrimSpace(n) != "1" {
		t.Errorf("unread count in the navigation %q, want 1", n)
	}
	bfOpen(t, bctx, app, "/inbox", 200)
	text := bfPageText(t, bctx)
	for _, want := range []string{"Is the tightness normal tonight?", "Ana Ruiz", "1 unread"} {
		if !strings.Contains(text, want) {
			t.Errorf("the inbox lacks %q:\n%s", want, text)
		}
	}
	bfDo(t, bctx, "opening the patient from the inbox",
		chromedp.Click(chromedp.CSS(`li.reply a[href^="/patients/"]`)),
		chromedp.WaitVisible(chromedp.ID("f-answer")))
	if text := bfPageText(t, bctx); !strings.Contains(text, "Is the tightness normal tonight?") || !strings.Contains(text, "answers the “") {
		t.Errorf("the patient's page lacks the reply and its step:\n%s", text)
	}
	bfDo(t, bctx, "answering",
		chromedp.SendKeys(chromedp.ID("f-answer"), "Yes, tightness is expected for a day or two, as your sheet says."),
		chromedp.Submit(chromedp.ID("f-answer")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if flash := bfRun(t, bctx, "reading the flash", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(flash, "Answer sent") {
		t.Errorf("flash %q", flash)
	}
	var answered bool
	for _, m := range fake.Messages()[sentBefore:] {
		if m.To == "+14155550100" && strings.HasPrefix(m.Body, "Glow Skin Studio: Yes, tightness") {
			answered = true
		}
	}
	if !answered {
		t.Errorf("Twilio never got the answer: %+v", fake.Messages()[sentBefore:])
	}
	ms := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, PatientID: res.Patient.ID})
	var logged bool
	for _, m := range ms {
		logged = logged || m.StepKey == aftercare.StepReplyStaff && m.Status == aftercare.StatusSent
	}
	if !logged {
		t.Error("the answer is not in the patient's messages as sent")
	}
	bfDo(t, bctx, "marking the reply read",
		chromedp.Click(chromedp.CSS(`#replies form[action$="/read"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#replies form[action$="/read"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if n, _ := app.DB.CountUnread(ctx, app.Main.ID); n != 0 {
		t.Errorf("%d unread after marking read", n)
	}
	if n, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#nav-unread").length`)); n != 0 {
		t.Error("the navigation still shows an unread count")
	}
}
