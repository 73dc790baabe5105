package scheduler

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// The daily summary's text. It may be read on a phone's lock screen and
// forwarded: it holds counts and reasons only, never a patient's name,
// number, address or words. The subject names the clinic and the day.
// The plain text is written to the convention notify/smtp turns into HTML
// (headings, "- " lists, links), so both parts say the same.

// SummaryText returns the subject and plain-text body of the clinic's
// summary of day: counts is the day's (aftercare.SummaryStore.CountDay),
// waiting the replies unread in the inbox now, publicURL the base of the
// links ("" for none).
func SummaryText(c *aftercare.Clinic, loc *time.Location, day SummaryDay, counts *aftercare.DayCounts, waiting int, publicURL string) (subject, body string) {
	date := day.Date.Format("Monday 2 January 2006")
	subject = fmt.Sprintf("%s: aftercare summary for %s", c.Name, day.Date.Format("Mon 2 Jan 2006"))
	n := counts.Messages
	var b strings.Builder
	fmt.Fprintf(&b, "What Aftercare did for %s on %s (the clinic's day, %s).\n\n", c.Name, date, loc)

	b.WriteString("Messages due that day\n\n")
	total := 0
	for _, v := range n {
		total += v
	}
	fmt.Fprintf(&b, "- %s in all\n", plural(total, "message"))
	fmt.Fprintf(&b, "- %d delivered\n", n[aftercare.StatusDelivered])
	fmt.Fprintf(&b, "- %d sent, with no delivery report yet\n", n[aftercare.StatusSent])
	fmt.Fprintf(&b, "- %d failed (refused by the provider)\n", n[aftercare.StatusFailed])
	fmt.Fprintf(&b, "- %d undelivered (the phone or mailbox did not take them)\n", n[aftercare.StatusUndelivered])
	if u := n[aftercare.StatusUnknown]; u > 0 {
		fmt.Fprintf(&b, "- %d unknown: needs a person. Aftercare cannot tell whether %s went and never resends %s; check the attention page\n",
			u, pick(u, "it", "they"), pick(u, "it", "them"))
	} else {
		b.WriteString("- 0 unknown\n")
	}
	for _, st := range []aftercare.Status{aftercare.StatusSkipped, aftercare.StatusExpired} {
		if k := n[st]; k > 0 {
			fmt.Fprintf(&b, "- %d %s: %s\n", k, st, reasonList(counts.Reasons, st))
		}
	}
	if k := n[aftercare.StatusPending] + n[aftercare.StatusSending]; k > 0 {
		fmt.Fprintf(&b, "- %d still waiting to be sent\n", k)
	}
	if k := n[aftercare.StatusCancelled]; k > 0 {
		fmt.Fprintf(&b, "- %d cancelled (enrollment cancelled, rescheduled or opted out)\n", k)
	}

	b.WriteString("\nOpt-outs and replies\n\n")
	fmt.Fprintf(&b, "- %s of texts (STOP)\n", plural(counts.OptOuts[aftercare.SMS], "opt-out"))
	fmt.Fprintf(&b, "- %s of emails\n", plural(counts.OptOuts[aftercare.Email], "unsubscribe"))
	fmt.Fprintf(&b, "- %s from patients received\n", plural(counts.Replies, "text"))
	fmt.Fprintf(&b, "- %s waiting in the inbox, unread\n", plural(waiting, "reply", "replies"))

	if publicURL != "" {
		q := url.Values{"since": {day.Day}, "until": {day.Day}}
		b.WriteString("\nWhere to look\n\n")
		fmt.Fprintf(&b, "- The day's delivery log: %s/log?%s\n", publicURL, q.Encode())
		fmt.Fprintf(&b, "- Messages that need a person: %s/attention\n", publicURL)
		fmt.Fprintf(&b, "- The inbox: %s/inbox\n", publicURL)
	}
	fmt.Fprintf(&b, "\nSent every day at %s (%s) to %s. To change who gets it or when: the Settings page, or `aftercare clinic set --summary-to ADDRESS --summary-at HH:MM`.\n",
		c.SummaryAt, loc, plural(len(c.SummaryRecipients()), "address", "addresses"))
	return subject, b.String()
}

// reasonList names why messages of state st were not sent, most frequent
// first, at most three and "other" for the rest.
func reasonList(rs []aftercare.ReasonCount, st aftercare.Status) string {
	byReason := map[string]int{}
	for _, r := range rs {
		if r.Status == st {
			byReason[summaryReason(r.Reason)] += r.Count
		}
	}
	type rc struct {
		reason string
		n      int
	}
	var list []rc
	for r, k := range byReason {
		list = append(list, rc{r, k})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].reason < list[j].reason
	})
	var parts []string
	other := 0
	for i, x := range list {
		if i < 3 && x.reason != "" {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.reason))
		} else {
			other += x.n
		}
	}
	if other > 0 {
		parts = append(parts, fmt.Sprintf("%d other", other))
	}
	return strings.Join(parts, "; ")
}

// summaryReason puts a skipped or expired message's note or error into a
// few words that carry no patient's data ("" when none fits). The notes
// are Aftercare's own (expand.go, the dispatcher, the store).
func summaryReason(s string) string {
	s = strings.ToLower(s)
	for _, r := range []struct{ has, says string }{
		{"opted out", "opted out"},
		{"no consent", "no consent"},
		{"has no phone", "no phone number"},
		{"has no email", "no email address"},
		{"daily cap", "daily cap reached"},
		{"quiet hours", "quiet hours until it was too late"},
		{"expired", "went stale before it could be sent"},
		{"had passed", "its time had passed when it was planned"},
	} {
		if strings.Contains(s, r.has) {
			return r.says
		}
	}
	return ""
}

// plural writes n and the word, with "s" or the given plural form.
func plural(n int, word string, many ...string) string {
	if n == 1 {
		return "1 " + word
	}
	if len(many) > 0 {
		return fmt.Sprintf("%d %s", n, many[0])
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
