package templates

import (
	"strconv"
	"strings"
	"time"
)

// Dates and times are written the way a patient reads them in a message,
// from hand-written tables: the service speaks English and Spanish, and a
// locale library would be a large dependency for two tables.

type locale struct {
	weekdays [7]string  // Sunday first, as time.Weekday
	months   [12]string // January first
}

var (
	english = &locale{
		weekdays: [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		months: [12]string{"January", "February", "March", "April", "May", "June",
			"July", "August", "September", "October", "November", "December"},
	}
	spanish = &locale{
		weekdays: [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
		months: [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio",
			"julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
	}
)

// localeOf picks the table for a language code: "es" and regional variants
// such as "es-MX" get Spanish, anything else English.
func localeOf(lang string) *locale {
	if lang == "es" || strings.HasPrefix(lang, "es-") {
		return spanish
	}
	return english
}

// FormatDate writes the calendar date of t (in t's own location) for a
// message: "Saturday, March 7" in English, "sábado 7 de marzo" in Spanish.
// Languages other than es (and es-XX) get English.
func FormatDate(t time.Time, lang string) string {
	return string(appendDate(make([]byte, 0, 32), t, lang))
}

// FormatTime writes the wall-clock time of t (in t's own location) for a
// message: "3:00 PM" in English, "15:00" in Spanish. Languages other than es
// (and es-XX) get English.
func FormatTime(t time.Time, lang string) string {
	return string(appendTime(make([]byte, 0, 8), t, lang))
}

// Weekday names the day of the week of t: "Saturday", "sábado".
// Languages other than es (and es-XX) get English.
func Weekday(t time.Time, lang string) string {
	return localeOf(lang).weekdays[t.Weekday()]
}

func appendDate(dst []byte, t time.Time, lang string) []byte {
	l := localeOf(lang)
	_, month, day := t.Date()
	dst = append(dst, l.weekdays[t.Weekday()]...)
	if l == spanish {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(day), 10)
		dst = append(dst, " de "...)
		return append(dst, l.months[month-1]...)
	}
	dst = append(dst, ", "...)
	dst = append(dst, l.months[month-1]...)
	dst = append(dst, ' ')
	return strconv.AppendInt(dst, int64(day), 10)
}

func appendTime(dst []byte, t time.Time, lang string) []byte {
	h, m, _ := t.Clock()
	if localeOf(lang) == spanish {
		dst = strconv.AppendInt(dst, int64(h), 10)
		return appendMinute(dst, m)
	}
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	dst = strconv.AppendInt(dst, int64(h12), 10)
	dst = appendMinute(dst, m)
	if h < 12 {
		return append(dst, " AM"...)
	}
	return append(dst, " PM"...)
}

func appendMinute(dst []byte, m int) []byte {
	return append(dst, ':', byte('0'+m/10), byte('0'+m%10))
}
