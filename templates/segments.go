package templates

import "github.com/aftercare/aftercare"

// SMS encodings reported by Segments (aftercare.GSM7, aftercare.UCS2).
const (
	GSM7 = aftercare.GSM7
	UCS2 = aftercare.UCS2
)

// Part sizes of a long text, for Parse's advice on how much to cut.
const (
	gsmConcat  = aftercare.GSM7ConcatSize
	ucs2Concat = aftercare.UCS2ConcatSize
)

// Segments is aftercare.Segments: Parse and Render count a text's parts
// with the same rule the dispatcher uses once it adds the opt-out notice.
func Segments(body string) (n int, encoding string) { return aftercare.Segments(body) }
