package templates

import (
	"fmt"
	"time"

	"github.com/aftercare/aftercare"
	"go.yaml.in/yaml/v3"
)

// Bounds on what one enrollment plans. Within the document's other limits
// (200 steps, 4 firings a day over 120 days) a protocol could otherwise
// plan tens of thousands of messages per patient: seconds to enroll and a
// response of megabytes. Import refuses what enrollment would refuse.
const (
	// MaxStepOccurrences is how many times one step may fire for one
	// patient (the scheduler's expansion refuses more).
	MaxStepOccurrences = 120
	// MaxMessagesPerPatient is how many messages one protocol may plan for
	// one patient, every occurrence on every channel counted.
	MaxMessagesPerPatient = 500
)

// TooOften is the message for a recurring step that fires more than
// MaxStepOccurrences times; the scheduler's expansion uses it too, so that
// import and enrollment say the same thing.
func TooOften(key string, fromDay, toDay int) string {
	return fmt.Sprintf("step %q fires more than %d times between day %d and day %d; use a sparser schedule", key, MaxStepOccurrences, fromDay, toDay)
}

// firingsBase is the first treatment date tried: a leap year, so that
// February 29 counts.
var firingsBase = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// maxFirings returns the most times spec fires in days consecutive days, over
// every start date of a year (wall-clock times; a DST change only ever
// removes one). Each day's firings are counted once, then a window slides
// over them.
func maxFirings(spec string, days int) int {
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return 0
	}
	span := 366 + days
	perDay := make([]int, span)
	until := firingsBase.AddDate(0, 0, span)
	for t := sched.Next(firingsBase.Add(-time.Second)); !t.IsZero() && t.Before(until); t = sched.Next(t) {
		perDay[int(t.Sub(firingsBase)/(24*time.Hour))]++
	}
	best, sum := 0, 0
	for i, n := range perDay {
		sum += n
		if i >= days {
			sum -= perDay[i-days]
		}
		best = max(best, sum)
	}
	return best
}

// stepOccurrences is the most times a step fires for one patient.
func stepOccurrences(s *aftercare.Step) int {
	if s.Timing.Kind != aftercare.TimingEvery {
		return 1
	}
	return maxFirings(s.Timing.Cron, s.Timing.ToDay-s.Timing.FromDay+1)
}

// checkVolume reports recurring steps that fire more often than one
// patient may get, and a protocol that plans more messages per patient than
// MaxMessagesPerPatient, naming the count.
func (p *parser) checkVolume(stepsNode *yaml.Node, nodes []stepNode, steps []aftercare.Step) {
	total := 0
	counted := map[aftercare.Timing]int{} // steps often share a schedule
	for i := range steps {
		s := &steps[i]
		n, ok := counted[s.Timing]
		if !ok {
			n = stepOccurrences(s)
			counted[s.Timing] = n
		}
		if n > MaxStepOccurrences {
			at := nodes[i].node
			if e, ok := nodes[i].fields["every"]; ok {
				at = e.val
			}
			p.errorf(at, "%s (it can fire %d times)", TooOften(s.Key, s.Timing.FromDay, s.Timing.ToDay), n)
			n = MaxStepOccurrences
		}
		total += n * len(s.Channels)
	}
	if total > MaxMessagesPerPatient {
		p.errorf(stepsNode, "this protocol plans up to %s messages per patient; at most %d: use fewer steps, channels or recurrences",
			thousands(total), MaxMessagesPerPatient)
	}
}

// thousands writes n with commas: 48,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
