package scheduler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// The cases pick settings whose effect on the built-in protocols is
// certain whichever way Expand settles a conflict (moving a message or
// dropping it): the tests look at what is reported, not at how many.
func TestCheckSettings(t *testing.T) {
	t.Parallel()
	type key struct {
		protocol string
		treated  string
		step     string
		channel  aftercare.Channel
	}
	tests := []struct {
		name     string
		window   string
		cap      int
		rename   bool
		wantNew  []key // each must be among the new warnings
		noneNew  bool
		anyNew   bool
		newCause string // every new warning that is not a drop says this too
	}{
		{name: "unchanged", window: "08:00-21:00", cap: 3, noneNew: true},
		{name: "renamed only", window: "08:00-21:00", cap: 3, rename: true, noneNew: true},
		{name: "wider window", window: "07:00-22:00", cap: 3, noneNew: true},
		{name: "window 10:00-11:00", window: "10:00-11:00", cap: 3, wantNew: []key{
			{"microneedling", "18:00", "welcome", aftercare.SMS},   // 18:00 is after 11:00
			{"microneedling", "18:00", "welcome", aftercare.Email}, // every channel is checked
			{"microneedling", "10:00", "red-flags", aftercare.SMS}, // day 1 08:00
			{"microneedling-prep", "10:00", "clean-skin", aftercare.SMS},
		}},
		{name: "window 12:00-14:00", window: "12:00-14:00", cap: 3, wantNew: []key{
			{"microneedling", "10:00", "welcome", aftercare.SMS}, // 10:00 is before the window opens
		}},
		{name: "cap 1", window: "08:00-21:00", cap: 1, newCause: "daily cap:", anyNew: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			p := *f.Clinic
			var err error
			if p.Window, err = aftercare.ParseWindow(tt.window); err != nil {
				t.Fatal(err)
			}
			p.DailyCap = tt.cap
			if tt.rename {
				p.Name = "Glow Skin Studio & Spa"
			}
			ws, err := f.Svc.CheckSettings(context.Background(), f.Clinic, &p)
			if err != nil {
				t.Fatal(err)
			}
			got := map[key]scheduler.SettingsWarning{}
			for _, w := range scheduler.NewWarnings(ws) {
				got[key{w.Protocol, w.Treated.Format("15:04"), w.Step, w.Channel}] = w
				if !w.Dropped && !strings.Contains(w.Reason, "quiet hours:") && !strings.Contains(w.Reason, "daily cap:") {
					t.Errorf("%s moved, but its reason %q says neither window nor cap", w, w.Reason)
				}
				if !w.Dropped && !strings.Contains(w.Reason, tt.newCause) {
					t.Errorf("%s moved, but its reason %q does not say %q", w, w.Reason, tt.newCause)
				}
			}
			if tt.noneNew && len(got) > 0 {
				t.Errorf("new warnings for settings that move nothing more: %v", scheduler.NewWarnings(ws))
			}
			if tt.anyNew && len(got) == 0 {
				t.Errorf("no new warnings; all: %v", ws)
			}
			for _, k := range tt.wantNew {
				if _, ok := got[k]; !ok {
					t.Errorf("no new warning for %+v; new ones: %v", k, scheduler.NewWarnings(ws))
				}
			}
		})
	}
}

// The current settings already move the prep protocol's 07:00 step of the
// morning appointment to the window's opening: that is reported, as not
// new.
func TestCheckSettingsOldWarnings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ws, err := f.Svc.CheckSettings(context.Background(), f.Clinic, f.Clinic)
	if err != nil {
		t.Fatal(err)
	}
	var found *scheduler.SettingsWarning
	for i, w := range ws {
		if w.New {
			t.Errorf("unchanged settings, yet new: %s", w)
		}
		if w.Protocol == "microneedling-prep" && w.Step == "clean-skin" && w.Channel == aftercare.SMS && w.Treated.Hour() == 10 {
			found = &ws[i]
		}
	}
	if found == nil {
		t.Fatalf("the 07:00 step of the 10:00 appointment is not reported: %v", ws)
	}
	// The reference day is the Wednesday after the fixture's Sunday, in
	// the clinic's zone.
	wantDue := time.Date(2026, 11, 25, 7, 0, 0, 0, found.Due.Location())
	if found.Due.Location().String() != "America/Los_Angeles" || !found.Due.Equal(wantDue) || found.Day != 0 {
		t.Errorf("due %v (day %d), want %v (day 0)", found.Due, found.Day, wantDue)
	}
	if s := found.String(); s != "microneedling-prep, treatment ending 10:00: step clean-skin (sms), due day 0 07:00: moved to day 0 08:00" {
		t.Errorf("String() = %q", s)
	}
}

func TestReferenceDay(t *testing.T) {
	t.Parallel()
	la, err := aftercare.LoadZone("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ now, want string }{
		{"2026-11-22T18:00:00Z", "2026-11-25"}, // Sunday
		{"2026-11-25T18:00:00Z", "2026-12-02"}, // a Wednesday: the next one
		{"2026-11-26T05:00:00Z", "2026-12-02"}, // still Wednesday in LA
		{"2026-03-05T12:00:00Z", "2026-03-11"}, // across the March change
	} {
		now, _ := time.Parse(time.RFC3339, tc.now)
		got := scheduler.ReferenceDay(now, la)
		if got.Format("2006-01-02") != tc.want || got.Location() != la || got.Hour() != 0 {
			t.Errorf("ReferenceDay(%s) = %v, want %s 00:00 in LA", tc.now, got, tc.want)
		}
	}
}

// CheckedUpdateClinic saves nothing while new warnings are unconfirmed.
func TestCheckedUpdateClinic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	window, name := "10:00-11:00", "Glow Two"
	ch := scheduler.ClinicChanges{Window: &window, Name: &name}
	u, err := f.Svc.CheckedUpdateClinic(ctx, "", ch, false)
	if err != nil {
		t.Fatal(err)
	}
	if u.Saved || len(scheduler.NewWarnings(u.Warnings)) == 0 {
		t.Fatalf("saved %v with %d new warnings, want unsaved with some", u.Saved, len(scheduler.NewWarnings(u.Warnings)))
	}
	if c, _ := f.DB.FindClinic(ctx, ""); c.Window != f.Clinic.Window || c.Name != f.Clinic.Name {
		t.Fatalf("stored after an unconfirmed change: %s %q", c.Window, c.Name)
	}
	if u, err = f.Svc.CheckedUpdateClinic(ctx, "", ch, true); err != nil || !u.Saved || len(u.Warnings) == 0 {
		t.Fatalf("confirmed: saved %v, %d warnings, %v", u != nil && u.Saved, len(u.Warnings), err)
	}
	if c, _ := f.DB.FindClinic(ctx, ""); c.Window.String() != window || c.Name != name {
		t.Fatalf("stored after a confirmed change: %s %q", c.Window, c.Name)
	}
	// A rename is not checked at all.
	name = "Glow Three"
	if u, err = f.Svc.CheckedUpdateClinic(ctx, "", scheduler.ClinicChanges{Name: &name}, false); err != nil || !u.Saved || u.Warnings != nil {
		t.Fatalf("rename: saved %v, warnings %v, %v", u != nil && u.Saved, u.Warnings, err)
	}
	// Bad input is refused before any check.
	bad := "11:00-10:00"
	if _, err := f.Svc.CheckedUpdateClinic(ctx, "", scheduler.ClinicChanges{Window: &bad}, true); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Fatalf("bad window: %v", err)
	}
}

func TestShowTreatmentChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if f.Clinic.ShowTreatment {
		t.Fatal("a new clinic names treatments")
	}
	for _, tc := range []struct {
		in   string
		want bool
	}{{"yes", true}, {"no", false}, {"on", true}} {
		c, err := f.Svc.UpdateClinic(ctx, "", scheduler.ClinicChanges{ShowTreatment: &tc.in})
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := f.DB.FindClinic(ctx, "")
		if c.ShowTreatment != tc.want || stored.ShowTreatment != tc.want {
			t.Errorf("%q: ShowTreatment %v, stored %v, want %v", tc.in, c.ShowTreatment, stored.ShowTreatment, tc.want)
		}
	}
	bad := "maybe"
	_, err := f.Svc.UpdateClinic(ctx, "", scheduler.ClinicChanges{ShowTreatment: &bad})
	if ae, ok := err.(*aftercare.Error); !ok || ae.Code != aftercare.EINVALID || ae.Field != "show_treatment" {
		t.Fatalf("maybe: %v", err)
	}
}
