package scheduler

import (
	"fmt"
	"strings"

	"github.com/aftercare/aftercare"
)

// The texts Aftercare sends in answer to a reply, in the project's own
// words. They name the clinic and point to its phone; they never give
// advice.

func phoneOr(c *aftercare.Clinic, en bool) string {
	if c.Phone != "" {
		return aftercare.DisplayPhone(c.Phone)
	}
	if en {
		return "the clinic"
	}
	return "a la clínica"
}

func spanish(lang string) bool {
	base, _, _ := strings.Cut(lang, "-")
	return base == "es"
}

// answerText returns the text of an answer step in lang.
func answerText(step string, c *aftercare.Clinic, lang string) string {
	es := spanish(lang)
	name, phone := c.Name, phoneOr(c, !es)
	switch step {
	case aftercare.StepReplyStop:
		if es {
			return fmt.Sprintf("%s: no recibirá más mensajes nuestros. Responda START para volver a recibirlos.", name)
		}
		return fmt.Sprintf("%s: you will get no more texts from us. Reply START to get them again.", name)
	case aftercare.StepReplyStart:
		if es {
			return fmt.Sprintf("%s: volverá a recibir los mensajes de sus cuidados. Responda STOP para dejar de recibirlos.", name)
		}
		return fmt.Sprintf("%s: you will get your aftercare texts again. Reply STOP to stop them.", name)
	case aftercare.StepReplyHelp:
		if es {
			return fmt.Sprintf("%s: recordatorios de los cuidados después de su tratamiento. ¿Dudas? Llame al %s. "+
				"Pueden aplicarse tarifas de mensajes y datos. Responda STOP para no recibir más.", name, phone)
		}
		return fmt.Sprintf("%s: reminders of your care instructions after your treatment. Questions? Call %s. "+
			"Msg & data rates may apply. Reply STOP to stop.", name, phone)
	case aftercare.StepReplyRedFlag:
		if es {
			return fmt.Sprintf("%s: gracias por avisarnos. Por favor, llame ahora a la clínica al %s para que le atiendan.", name, phone)
		}
		return fmt.Sprintf("%s: thank you for telling us. Please call the clinic now on %s so that someone can help you.", name, phone)
	default: // StepReplyAuto
		if es {
			return fmt.Sprintf("%s: leemos las respuestas en horario de atención. Si le preocupa algo, llame al %s.", name, phone)
		}
		return fmt.Sprintf("%s: we read replies during opening hours. If you are worried, call %s.", name, phone)
	}
}

// alertText is the email to the clinic's alert address about a red-flag
// reply: who, what they wrote, the warning words, and where to answer.
func alertText(c *aftercare.Clinic, r *aftercare.Reply, who string) (subject, body string) {
	subject = fmt.Sprintf("Aftercare: a patient's reply names a warning sign (%s)", r.RedFlagWords)
	var b strings.Builder
	fmt.Fprintf(&b, "A reply to %s's aftercare texts names a warning sign: %s.\n\n", c.Name, r.RedFlagWords)
	fmt.Fprintf(&b, "From: %s (%s)\n", who, aftercare.DisplayPhone(r.From))
	fmt.Fprintf(&b, "Received: %s UTC\n", r.ReceivedAt.UTC().Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "Text: %q\n\n", r.Body)
	b.WriteString("The patient was asked by text to call the clinic now. Please call them back; the reply is in the Inbox of the web app.\n")
	return subject, b.String()
}
