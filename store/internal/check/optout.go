package check

import "github.com/aftercare/aftercare"

// OptOutState is what OptedOutMany reads of one patient: its clinic and
// whether it opted out of texts and of emails.
type OptOutState struct {
	Clinic     int64
	SMS, Email bool
}

// OptOutLists refuses OptedOutMany's three lists when they differ in
// length (EINVALID).
func OptOutLists(clinicIDs, patientIDs []int64, chs []aftercare.Channel) error {
	if len(clinicIDs) != len(patientIDs) || len(chs) != len(patientIDs) {
		return aftercare.Errorf(aftercare.EINVALID, "opt-out check: %d clinics, %d patients and %d channels", len(clinicIDs), len(patientIDs), len(chs))
	}
	return nil
}

// OptedOut is OptedOutMany's answer from the patients read (by id):
// out[i] reports whether patient patientIDs[i] of clinic clinicIDs[i]
// opted out of chs[i]; ENOTFOUND if one was not read or is another
// clinic's.
func OptedOut(got map[int64]OptOutState, clinicIDs, patientIDs []int64, chs []aftercare.Channel) ([]bool, error) {
	out := make([]bool, len(patientIDs))
	for i, id := range patientIDs {
		s, ok := got[id]
		if !ok || s.Clinic != clinicIDs[i] {
			return nil, aftercare.Errorf(aftercare.ENOTFOUND, "no patient %d in clinic %d", id, clinicIDs[i])
		}
		out[i] = s.SMS
		if chs[i] == aftercare.Email {
			out[i] = s.Email
		}
	}
	return out, nil
}
