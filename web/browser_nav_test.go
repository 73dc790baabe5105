package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare"
)

// navLinksJS lists the main menu's links that a person cannot see
// without scrolling sideways: outside the window, clipped by the menu, or
// covered by something else at their centre; and how many links there are.
const navLinksJS = `(() => {
	const nav = document.querySelector("header.top nav"), links = Array.from(nav.querySelectorAll("a"));
	const hidden = links.filter(a => {
		const r = a.getBoundingClientRect(), n = nav.getBoundingClientRect();
		if (r.width === 0 || r.left < 0 || r.right > window.innerWidth || r.left < n.left - 1 || r.right > n.right + 1) return true;
		const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
		return !(at && a.contains(at));
	}).map(a => a.textContent.trim());
	return {count: links.length, hidden: hidden, scrolls: nav.scrollWidth > nav.clientWidth + 1};
})()`

type navCheck struct {
	Count   int      `json:"count"`
	Hidden  []string `json:"hidden"`
	Scrolls bool     `json:"scrolls"`
}

// TestBrowserNavOnPhone: on a 375 px phone every link of the main menu is
// in sight for each role (the longest menu, the admin's, included), and the
// menu does not scroll sideways.
func TestBrowserNavOnPhone(t *testing.T) {
	app := newTestApp(t)
	for _, tc := range []struct {
		role  aftercare.Role
		links int
	}{{aftercare.RoleFrontDesk, 5}, {aftercare.RoleManager, 10}, {aftercare.RoleAdmin, 12}} {
		t.Run(string(tc.role), func(t *testing.T) {
			email, pw := app.User(app.Main, tc.role)
			ctx := newChrome(t, 375, 812)
			signInBrowser(t, ctx, app, email, pw)
			got := bfRun(t, ctx, "measuring the menu", chromedp.Evaluate[navCheck](navLinksJS))
			if got.Count != tc.links {
				t.Errorf("the %s menu has %d links, want %d", tc.role, got.Count, tc.links)
			}
			if len(got.Hidden) > 0 || got.Scrolls {
				t.Errorf("at 375 px the %s menu hides %q (scrolls sideways: %v)", tc.role, got.Hidden, got.Scrolls)
			}
			bfFits(t, ctx, "the start page", false)
		})
	}
}
