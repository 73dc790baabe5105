package web

import "testing"

func TestReflow(t *testing.T) {
	in := "Hi Ana,\n\nYour treatment is\nfinished.\n\nAvoid:\n- Makeup: for\n  48 hours.\n- Sweating.\n\nYour team"
	want := "Hi Ana,\n\nYour treatment is finished.\n\nAvoid:\n- Makeup: for 48 hours.\n- Sweating.\n\nYour team"
	if got := (PatientPageView{}).Reflow(in); got != want {
		t.Errorf("Reflow:\n%q\nwant\n%q", got, want)
	}
}
