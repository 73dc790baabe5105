package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/aftercare/aftercare"
)

// The chart of sent, delivered and failed messages per day: inline SVG laid
// out here, so the page needs no script and prints as it shows.

// StatDay is one day of the chart and of its table.
type StatDay struct {
	Day       string // YYYY-MM-DD, a day in the clinic's zone
	Label     string // "Mon 23 Nov"
	Delivered int    // the provider confirmed delivery
	Sent      int    // accepted by the provider, no delivery report (yet)
	Failed    int    // failed, undelivered, unknown or expired
	Waiting   int    // pending or sending
	Other     int    // skipped or cancelled: never meant to go
}

// Total is what was handed to a provider or should have been.
func (d StatDay) Total() int { return d.Delivered + d.Sent + d.Failed }

// ChartBar is one day's stacked bar; heights are in SVG units, from the
// bottom up: delivered, sent, failed.
type ChartBar struct {
	StatDay
	X, W                   float64
	YDelivered, HDelivered float64
	YSent, HSent           float64
	YFailed, HFailed       float64
	Tick                   string // the x-axis label under this bar, "" for none
	TickX                  float64
	TickAlt                bool // every other label, left out on a phone where they would overlap
}

// ChartTick is a horizontal grid line with its value.
type ChartTick struct {
	Y     float64
	Label string
}

// Chart is the laid-out SVG.
type Chart struct {
	Width, Height    float64
	Left, Right      float64
	Top, Bottom      float64
	Bars             []ChartBar
	Ticks            []ChartTick
	AxisY, LabelY    float64
	Summary          string // the text alternative
	Delivered, Sent  int
	Failed, Rate     int
	RateKnown, Empty bool
}

// StatsPage is the data of the "mgr_stats" template.
type StatsPage struct {
	Days    int
	Periods []int
	Chart   Chart
	Rows    []StatDay // newest first, for the table
	From    string
	To      string
	Zone    string // the clinic's, whose days these are
}

// NavSection marks the log in the menu (the chart is the log's summary).
func (StatsPage) NavSection() string { return "log" }

func (s *Server) statsPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	days := readPeriod(r)
	loc := clinicZone(p.Clinic)
	// The days as plain dates (UTC noon, so that adding days never meets a
	// clock change); the instants come from the one rule, DayRange.
	y, m, d := s.Now().In(loc).Date()
	today := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, -(days - 1))
	since, until, err := aftercare.DayRange(first.Format(time.DateOnly), today.Format(time.DateOnly), loc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	stats, err := s.Store.DailyStats(r.Context(), p.Clinic.ID, since, until, loc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	series := make([]StatDay, days)
	index := map[string]int{}
	for i := range series {
		d := first.AddDate(0, 0, i)
		series[i] = StatDay{Day: d.Format(time.DateOnly), Label: dated(d, time.UTC, "Mon 2 Jan", today.Year())}
		index[series[i].Day] = i
	}
	for _, st := range stats {
		i, ok := index[st.Day]
		if !ok {
			continue
		}
		d := &series[i]
		switch st.Status {
		case aftercare.StatusDelivered:
			d.Delivered += st.Count
		case aftercare.StatusSent:
			d.Sent += st.Count
		case aftercare.StatusFailed, aftercare.StatusUndelivered, aftercare.StatusUnknown, aftercare.StatusExpired:
			d.Failed += st.Count
		case aftercare.StatusPending, aftercare.StatusSending:
			d.Waiting += st.Count
		default:
			d.Other += st.Count
		}
	}
	page := StatsPage{Days: days, Periods: periodChoices, Chart: layoutChart(series),
		From: first.Format(dayLayout), To: today.Format(dayLayout), Zone: loc.String()}
	for i := len(series) - 1; i >= 0; i-- {
		page.Rows = append(page.Rows, series[i])
	}
	s.render(w, r, http.StatusOK, "mgr_stats", "Deliveries per day", page)
}

// layoutChart places the bars of a stacked bar chart of days in a 720x260
// drawing with a y axis of round numbers.
func layoutChart(days []StatDay) Chart {
	c := Chart{Width: 720, Height: 260, Left: 44, Right: 712, Top: 12, Bottom: 226}
	c.AxisY, c.LabelY = c.Bottom, c.Bottom+20
	most := 0
	for _, d := range days {
		c.Delivered += d.Delivered
		c.Sent += d.Sent
		c.Failed += d.Failed
		most = max(most, d.Total())
	}
	if total := c.Delivered + c.Sent + c.Failed; total > 0 {
		c.Rate, c.RateKnown = c.Delivered*100/total, true
	}
	c.Empty = most == 0
	top, step := niceScale(most)
	scale := (c.Bottom - c.Top) / float64(top)
	for v := 0; v <= top; v += step {
		c.Ticks = append(c.Ticks, ChartTick{Y: r1(c.Bottom - float64(v)*scale), Label: strconv.Itoa(v)})
	}
	slot := (c.Right - c.Left) / float64(len(days))
	width := slot * 0.7
	labelEvery := max(1, len(days)/8)
	for i, d := range days {
		b := ChartBar{StatDay: d, W: width}
		b.X = c.Left + float64(i)*slot + (slot-width)/2
		y := c.Bottom
		b.HDelivered = float64(d.Delivered) * scale
		y -= b.HDelivered
		b.YDelivered = y
		b.HSent = float64(d.Sent) * scale
		y -= b.HSent
		b.YSent = y
		b.HFailed = float64(d.Failed) * scale
		y -= b.HFailed
		b.YFailed = y
		// Label the newest day and every labelEvery-th day before it.
		if (len(days)-1-i)%labelEvery == 0 {
			t, _ := time.Parse(time.DateOnly, d.Day)
			b.Tick, b.TickX = t.Format("2 Jan"), b.X+width/2
			b.TickAlt = (len(days)-1-i)/labelEvery%2 == 1
		}
		b.X, b.W, b.TickX = r1(b.X), r1(b.W), r1(b.TickX)
		b.YDelivered, b.HDelivered, b.YSent, b.HSent, b.YFailed, b.HFailed = r1(b.YDelivered), r1(b.HDelivered), r1(b.YSent), r1(b.HSent), r1(b.YFailed), r1(b.HFailed)
		c.Bars = append(c.Bars, b)
	}
	c.Summary = fmt.Sprintf("Over %d days: %d delivered, %d sent without a delivery report, %d failed.", len(days), c.Delivered, c.Sent, c.Failed)
	return c
}

// r1 rounds an SVG coordinate to a tenth: plenty on screen, and a lighter
// page.
func r1(x float64) float64 { return math.Round(x*10) / 10 }

// niceScale returns the top of an axis that holds most, and the step of its
// grid lines: a round number (1, 2 or 5 times a power of ten) with four or
// five lines.
func niceScale(most int) (top, step int) {
	if most <= 4 {
		return 4, 1
	}
	raw := float64(most) / 4
	pow := 1
	for float64(pow*10) <= raw {
		pow *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if float64(m*pow) >= raw {
			step = m * pow
			break
		}
	}
	top = (most + step - 1) / step * step
	return top, step
}
