package scheduler_test

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// Every carrier keyword in every form: any case, surrounding spaces and
// punctuation.
func TestClassifyReplyKeywords(t *testing.T) {
	t.Parallel()
	words := map[string]aftercare.ReplyKind{
		"STOP": aftercare.ReplyStop, "STOPALL": aftercare.ReplyStop, "UNSUBSCRIBE": aftercare.ReplyStop,
		"CANCEL": aftercare.ReplyStop, "END": aftercare.ReplyStop, "QUIT": aftercare.ReplyStop,
		"REVOKE": aftercare.ReplyStop, "OPTOUT": aftercare.ReplyStop,
		"START": aftercare.ReplyStart, "YES": aftercare.ReplyStart, "UNSTOP": aftercare.ReplyStart,
		"HELP": aftercare.ReplyHelp, "INFO": aftercare.ReplyHelp,
	}
	forms := []func(string) string{
		func(w string) string { return w },
		strings.ToLower,
		func(w string) string { return strings.ToUpper(w[:1]) + strings.ToLower(w[1:]) },
		func(w string) string { return "  " + w + "  " },
		func(w string) string { return w + "." },
		func(w string) string { return "\"" + strings.ToLower(w) + "!!\"" },
		func(w string) string { return "\n" + w + " 🙏\n" },
	}
	for w, kind := range words {
		for i, f := range forms {
			in := f(w)
			got := scheduler.ClassifyReply(in)
			if got.Kind != kind || got.Keyword != w {
				t.Errorf("form %d %q: %s %q, want %s %q", i, in, got.Kind, got.Keyword, kind, w)
			}
		}
	}
}

// Plain-language opt-outs, and texts that only look like them.
func TestClassifyReplyPlainLanguage(t *testing.T) {
	t.Parallel()
	optOuts := []string{
		"stop texting me", "Please stop texting me!", "STOP SENDING ME THESE", "stop the texts please",
		"Stop these messages", "no more messages", "No more texts, thanks", "unsubscribe me",
		"please unsubscribe me from this", "don't text me again", "Do not contact me", "take me off this list",
		"remove me from your list", "opt me out", "Opt out", "I don't want these texts anymore", "stop messaging me",
		"no me escriban más", "No me escriban mas por favor", "basta", "¡Basta!", "ya basta", "basta de mensajes",
		"no quiero más mensajes", "No quiero recibir más mensajes", "quiero darme de baja", "darme de baja",
		"Denme de baja", "dejen de escribirme", "deja de enviarme mensajes", "ya no quiero mensajes",
		"no me manden más", "cancelar los mensajes", "no más mensajes",
	}
	for _, in := range optOuts {
		if got := scheduler.ClassifyReply(in); got.Kind != aftercare.ReplyStop || got.Keyword != "PLAIN" {
			t.Errorf("%q: %s %q, want an opt-out in plain words", in, got.Kind, got.Keyword)
		}
	}
	notOptOuts := []string{
		"stop the bleeding?", "how do I stop the bleeding", "can I stop retinol", "When can I stop using the cream?",
		"should I stop sunscreen after a week", "Thanks! I'll stop by tomorrow", "the itching won't stop",
		"no more redness today :)", "is it the end of the treatment?", "yes I did", "help me understand step 2",
		"can I cancel my appointment?", "info about vitamin C please", "¿basta con agua y jabón?",
		"no puedo parar de rascarme", "¿cuándo puedo dejar el retinol?", "gracias por los mensajes",
		"Ok", "thank you!", "stopped the retinol like you said",
	}
	for _, in := range notOptOuts {
		if got := scheduler.ClassifyReply(in); got.Kind == aftercare.ReplyStop || got.Kind == aftercare.ReplyStart || got.Kind == aftercare.ReplyHelp {
			t.Errorf("%q: read as %s %q, want an ordinary text", in, got.Kind, got.Keyword)
		}
	}
}

// Warning signs, English and Spanish; a negation just before one does not
// raise it.
func TestClassifyReplyRedFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		flags []string
	}{
		{"pus on my cheek", []string{"pus"}},
		{"The redness is getting worse", []string{"worse redness"}},
		{"my face is swollen and it hurts", []string{"swelling", "pain"}},
		{"lots of little pimples today", []string{"pimples"}},
		{"I have a rash on my neck", []string{"rash"}},
		{"hives!!", []string{"hives"}},
		{"I think I have a fever", []string{"fever"}},
		{"stop the bleeding?", []string{"bleeding"}},
		{"tengo pus", []string{"pus"}},
		{"tengo fiebre desde ayer", []string{"fever"}},
		{"me sangra un poco", []string{"bleeding"}},
		{"me duele mucho", []string{"pain"}},
		{"está muy hinchado", []string{"swelling"}},
		{"me salieron ronchas", []string{"hives"}},
		{"tengo granitos en la frente", []string{"pimples"}},
		{"un sarpullido en el cuello", []string{"rash"}},
		{"Está más roja que ayer", []string{"worse redness"}},
		{"no pain, all good", nil},
		{"sin dolor, gracias", nil},
		{"Thanks, looks great", nil},
		{"spa appointment next week?", nil},
		{"pushing my appointment", nil},
	}
	for _, tt := range tests {
		got := scheduler.ClassifyReply(tt.in)
		if !slices.Equal(got.RedFlags, tt.flags) {
			t.Errorf("%q: red flags %q, want %q", tt.in, got.RedFlags, tt.flags)
		}
		wantKind := aftercare.ReplyText
		if len(tt.flags) > 0 {
			wantKind = aftercare.ReplyRedFlag
		}
		if got.Kind != wantKind {
			t.Errorf("%q: kind %s, want %s", tt.in, got.Kind, wantKind)
		}
	}
}

// TestClassifyReplyConcurrent: texts arriving at once are read alike (a
// shared accent-stripping transformer once corrupted them).
func TestClassifyReplyConcurrent(t *testing.T) {
	t.Parallel()
	texts := []string{"Tengo fiebre y me duele la cara", "STOP", "¿Puedo usar retinol?", "pus on my cheek", "Ayúdenme, está hinchado"}
	want := make([]scheduler.Classification, len(texts))
	for i, s := range texts {
		want[i] = scheduler.ClassifyReply(s)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 200; n++ {
				i := n % len(texts)
				if got := scheduler.ClassifyReply(texts[i]); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("%q read as %+v, want %+v", texts[i], got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}
