package sqlite

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
	"github.com/aftercare/aftercare/store/internal/plan"
)

// Enroll writes ne's patient, enrollment and messages in one transaction, as
// enrollment.go's EnrollmentStore describes: the patient is matched by MatchKey
// (and then gains the new zone and language and any consent or opt-out it did
// not have; none is ever removed), and an enrollment whose Key the clinic
// already has is not written again: created is false and ne.Enrollment and
// ne.Patient are filled from the stored rows.
//
// When created, ne.Patient, ne.Enrollment and every message hold what was
// stored: IDs, ClinicID, PatientID, EnrollmentID, ProtocolSlug and
// ProtocolVersion, status "active", times set (UTC, to the millisecond), and
// NextAttemptAt defaulting to SendAt for a pending message. Messages are
// stored with their planning fields (step, channel, language, status, times,
// note, text); delivery fields start empty.
//
// It returns EINVALID for an incomplete NewEnrollment (no clinic, key,
// protocol, treatment time; a message without step, send time, or with an
// unknown channel or status), ENOTFOUND when the protocol is not one of the
// clinic's, and ECONFLICT when the plan has a message (step, occurrence,
// channel) twice. On error nothing is written.
func (db *DB) Enroll(ctx context.Context, ne *aftercare.NewEnrollment) (created bool, err error) {
	c, err := db.EnrollBatch(ctx, []*aftercare.NewEnrollment{ne})
	if err != nil {
		return false, err
	}
	return c[0], nil
}

// EnrollBatch is Enroll for many NewEnrollments in one transaction: all are
// written or, on any error, none. created[i] says whether batch[i] was new;
// an item whose Key an earlier item of the batch has is not new. Errors are
// Enroll's, their message naming the item ("batch item 3: ...").
func (db *DB) EnrollBatch(ctx context.Context, batch []*aftercare.NewEnrollment) ([]bool, error) {
	if len(batch) == 0 {
		return []bool{}, nil
	}
	items := make([]enrollItem, len(batch))
	for i, ne := range batch {
		cid, err := check.NewEnrollment(ne)
		if err != nil {
			return nil, check.ItemError(i, len(batch), err)
		}
		items[i] = enrollItem{ne: ne, clinicID: cid}
	}
	now := db.now()
	err := db.write(ctx, "enroll", func(tx *sqlx.Tx) error {
		return enrollTx(ctx, tx, items, now)
	})
	if err != nil {
		return nil, err
	}
	created := make([]bool, len(items))
	for i := range items {
		items[i].apply(now)
		created[i] = items[i].created
	}
	return created, nil
}

// enrollItem is what EnrollBatch decided for one NewEnrollment.
type enrollItem struct {
	ne       *aftercare.NewEnrollment
	clinicID int64
	created  bool
	patient  *patientState         // the patient as stored after the batch
	enroll   *aftercare.Enrollment // the enrollment as stored
	msgIDs   []int64               // IDs of ne.Messages when created
}

// apply fills the caller's structs once the transaction has committed.
func (it *enrollItem) apply(now time.Time) {
	*it.ne.Enrollment = *it.enroll
	if it.patient != nil {
		*it.ne.Patient = it.patient.p
	}
	if !it.created {
		return
	}
	for k, m := range it.ne.Messages {
		m.ID = it.msgIDs[k]
		m.ClinicID, m.EnrollmentID, m.PatientID = it.clinicID, it.enroll.ID, it.enroll.PatientID
		m.SendAt, m.ExpiresAt, m.NextAttemptAt = check.PlannedTimes(m)
		m.CreatedAt, m.UpdatedAt = now, now
	}
}

// patientState is a patient as the batch will leave it.
type patientState struct {
	p     aftercare.Patient
	isNew bool // to be inserted
	dirty bool // stored, and to be updated
}

// merge records what in says about a stored (or earlier in the batch)
// patient: the zone and language it has now, and consent or opt-out it did
// not have. Consent and opt-outs are never removed. It returns the
// channels whose consent in gave now.
func (st *patientState) merge(in *aftercare.Patient, now time.Time) (gained []aftercare.Channel) {
	p, changed := &st.p, false
	if in.TZ != "" && in.TZ != p.TZ {
		p.TZ, changed = in.TZ, true
	}
	if in.Lang != "" && in.Lang != p.Lang {
		p.Lang, changed = in.Lang, true
	}
	if !p.SMSConsent.Given() && in.SMSConsent.Given() {
		p.SMSConsent, changed = aftercare.Consent{At: norm(in.SMSConsent.At), Source: in.SMSConsent.Source}, true
		gained = append(gained, aftercare.SMS)
	}
	if !p.EmailConsent.Given() && in.EmailConsent.Given() {
		p.EmailConsent, changed = aftercare.Consent{At: norm(in.EmailConsent.At), Source: in.EmailConsent.Source}, true
		gained = append(gained, aftercare.Email)
	}
	if p.SMSOptOutAt.IsZero() && !in.SMSOptOutAt.IsZero() {
		p.SMSOptOutAt, changed = norm(in.SMSOptOutAt), true
	}
	if p.EmailOptOut.IsZero() && !in.EmailOptOut.IsZero() {
		p.EmailOptOut, changed = norm(in.EmailOptOut), true
	}
	if changed {
		p.UpdatedAt = now
		st.dirty = !st.isNew
	}
	return gained
}

// consentGiven is the consent_events row of consent p was given on ch at
// enrollment.
func consentGiven(p *aftercare.Patient, ch aftercare.Channel, userID int64) []any {
	c := p.SMSConsent
	if ch == aftercare.Email {
		c = p.EmailConsent
	}
	return []any{p.ClinicID, p.ID, string(ch), string(aftercare.ConsentGiven), ts(c.At), c.Source, userID}
}

// ckey is a string key within a clinic.
type ckey struct {
	clinic int64
	key    string
}

// idKey is an id within a clinic.
type idKey struct {
	clinic, id int64
}

const (
	batchProtocols   = `SELECT id, slug, version FROM protocols WHERE clinic_id = ? AND id IN (?)`
	batchEnrollments = `SELECT ` + enrollmentColumns + enrollmentFrom + ` WHERE e.clinic_id = ? AND e.idem_key IN (?)`
	batchPatientsMK  = `SELECT ` + patientColumns + `, match_key FROM patients WHERE clinic_id = ? AND match_key IN (?)`
	batchPatientsID  = `SELECT ` + patientColumns + `, match_key FROM patients WHERE clinic_id = ? AND id IN (?)`
	maxPatientID     = `SELECT COALESCE(MAX(id), 0) FROM patients`
	maxEnrollmentID  = `SELECT COALESCE(MAX(id), 0) FROM enrollments`
	maxMessageID     = `SELECT COALESCE(MAX(id), 0) FROM messages`
	updatePatient    = `UPDATE patients SET tz = ?, lang = ?, sms_consent_at = ?, sms_consent_source = ?,
	email_consent_at = ?, email_consent_source = ?, sms_opt_out_at = ?, email_opt_out_at = ?, updated_at = ?
WHERE id = ?`
)

var (
	patientInsertColumns = []string{"id", "clinic_id", "match_key", "name", "phone", "email", "tz", "lang",
		"sms_consent_at", "sms_consent_source", "email_consent_at", "email_consent_source",
		"sms_opt_out_at", "email_opt_out_at", "created_at", "updated_at"}
	enrollmentInsertColumns = []string{"id", "clinic_id", "patient_id", "protocol_id", "treated_at", "status",
		"idem_key", "source", "created_at", "updated_at", "cancelled_at", "planned", "planned_next"}
	consentEventColumns  = []string{"clinic_id", "patient_id", "channel", "action", "at", "source", "user_id"}
	messageInsertColumns = []string{"id", "clinic_id", "enrollment_id", "patient_id", "step_key", "occurrence",
		"channel", "lang", "status", "send_at", "expires_at", "note", "text_id", "segments",
		"next_attempt_at", "created_at", "updated_at"}
)

// enrollTx does EnrollBatch's work inside its transaction, in three steps:
// load reads what the batch refers to with a few IN (...) queries per
// clinic, decide works out every row in memory, and write stores them with
// multi-row INSERTs. IDs are assigned in decide and write (MAX(id)+1
// onwards, which is what SQLite would pick): the transaction holds the
// write lock, and knowing the IDs up front lets messages be inserted in
// bulk without reading anything back.
func enrollTx(ctx context.Context, tx *sqlx.Tx, items []enrollItem, now time.Time) error {
	b := &enrollBatch{
		items:     items,
		now:       now,
		protocols: map[idKey]protocolRef{},
		stored:    map[ckey]*storedEnrollment{},
		byMatch:   map[ckey]*patientState{},
		byID:      map[int64]*patientState{},
	}
	if err := b.load(ctx, tx); err != nil {
		return err
	}
	if err := b.decide(ctx, tx); err != nil {
		return err
	}
	return b.write(ctx, tx)
}

// enrollBatch is one EnrollBatch inside its transaction: what load read and
// what decide made of it.
type enrollBatch struct {
	items []enrollItem
	now   time.Time

	// load
	clinics   []int64                    // the batch's clinics, in first-seen order
	protocols map[idKey]protocolRef      // the protocols the batch names
	stored    map[ckey]*storedEnrollment // by clinic and enrollment key
	byMatch   map[ckey]*patientState     // by clinic and match key
	byID      map[int64]*patientState    // by patient id

	// decide
	newPatients, dirtyPatients []*patientState
	newEnrollments             []*enrollItem
	consents                   [][]any // consent_events rows: the consent each enrollment gave
}

// protocolRef is what an Enrollment carries of its protocol.
type protocolRef struct {
	slug    string
	version int
}

// load reads the batch's protocols, the enrollments the clinics already
// have with the batch's keys, and the patients: those the new enrollments
// match and those of the enrollments already stored. ENOTFOUND names the
// first item whose protocol is not its clinic's.
func (b *enrollBatch) load(ctx context.Context, tx *sqlx.Tx) error {
	protocolsOf, keysOf := map[int64][]int64{}, map[int64][]string{}
	for i := range b.items {
		it := &b.items[i]
		if _, seen := keysOf[it.clinicID]; !seen {
			b.clinics = append(b.clinics, it.clinicID)
		}
		protocolsOf[it.clinicID] = append(protocolsOf[it.clinicID], it.ne.Enrollment.ProtocolID)
		keysOf[it.clinicID] = append(keysOf[it.clinicID], it.ne.Enrollment.Key)
	}
	for _, cid := range b.clinics {
		err := chunks(dedupe(protocolsOf[cid]), func(ids []int64) error {
			return eachRowIn(ctx, tx, func(rows *sqlx.Rows) error {
				var id int64
				var ref protocolRef
				if err := rows.Scan(&id, &ref.slug, &ref.version); err != nil {
					return err
				}
				b.protocols[idKey{cid, id}] = ref
				return nil
			}, batchProtocols, cid, ids)
		})
		if err != nil {
			return err
		}
		err = chunks(dedupe(keysOf[cid]), func(keys []string) error {
			return eachRowIn(ctx, tx, func(rows *sqlx.Rows) error {
				e, err := scanEnrollment(rows)
				if err == nil {
					b.stored[ckey{cid, e.Key}] = &storedEnrollment{e: e}
				}
				return err
			}, batchEnrollments, cid, keys)
		})
		if err != nil {
			return err
		}
	}
	for i := range b.items {
		it := &b.items[i]
		if _, ok := b.protocols[idKey{it.clinicID, it.ne.Enrollment.ProtocolID}]; !ok {
			return check.ItemError(i, len(b.items), notFound("no protocol %d in this clinic", it.ne.Enrollment.ProtocolID))
		}
	}
	for _, cid := range b.clinics {
		if err := b.loadPatients(ctx, tx, cid); err != nil {
			return err
		}
	}
	return nil
}

// loadPatients reads clinic cid's patients the batch refers to: by match
// key for new enrollments, by id for those stored already.
func (b *enrollBatch) loadPatients(ctx context.Context, tx *sqlx.Tx, cid int64) error {
	var mks []string
	var ids []int64
	for i := range b.items {
		it := &b.items[i]
		if it.clinicID != cid {
			continue
		}
		if se := b.stored[ckey{cid, it.ne.Enrollment.Key}]; se != nil {
			ids = append(ids, se.e.PatientID)
		} else {
			mks = append(mks, it.ne.Patient.MatchKey())
		}
	}
	add := func(rows *sqlx.Rows) error {
		p, mk, err := scanPatientMK(rows)
		if err == nil && b.byID[p.ID] == nil {
			st := &patientState{p: *p}
			b.byID[p.ID] = st
			b.byMatch[ckey{p.ClinicID, mk}] = st
		}
		return err
	}
	err := chunks(dedupe(mks), func(mks []string) error {
		return eachRowIn(ctx, tx, add, batchPatientsMK, cid, mks)
	})
	if err != nil {
		return err
	}
	return chunks(dedupe(ids), func(ids []int64) error {
		return eachRowIn(ctx, tx, add, batchPatientsID, cid, ids)
	})
}

// decide goes through the batch in order: an item whose key is stored
// (or came earlier in the batch) takes the stored enrollment; any other is
// a new enrollment, of a new patient or of a matched one that may gain
// zone, language and consent. Patients and enrollments get their IDs here.
func (b *enrollBatch) decide(ctx context.Context, tx *sqlx.Tx) error {
	var nextPatient, nextEnrollment int64
	for _, q := range []struct {
		q  string
		to *int64
	}{{maxPatientID, &nextPatient}, {maxEnrollmentID, &nextEnrollment}} {
		if err := tx.GetContext(ctx, q.to, q.q); err != nil {
			return err
		}
		*q.to++
	}
	now := b.now
	for i := range b.items {
		it := &b.items[i]
		ne, cid := it.ne, it.clinicID
		k := ckey{cid, ne.Enrollment.Key}
		if se := b.stored[k]; se != nil {
			it.enroll = se.e
			it.patient = se.patient
			if it.patient == nil {
				it.patient = b.byID[se.e.PatientID]
			}
			continue
		}
		st := b.byMatch[ckey{cid, ne.Patient.MatchKey()}]
		if st == nil {
			st = b.newPatient(ne, cid, nextPatient)
			nextPatient++
		} else {
			wasDirty := st.dirty
			for _, ch := range st.merge(ne.Patient, now) {
				b.consents = append(b.consents, consentGiven(&st.p, ch, ne.UserID))
			}
			if st.dirty && !wasDirty {
				b.dirtyPatients = append(b.dirtyPatients, st)
			}
		}
		ref := b.protocols[idKey{cid, ne.Enrollment.ProtocolID}]
		e := *ne.Enrollment
		e.ID, e.ClinicID, e.PatientID = nextEnrollment, cid, st.p.ID
		e.ProtocolSlug, e.ProtocolVersion = ref.slug, ref.version
		e.Status = aftercare.EnrollmentActive
		e.TreatedAt = norm(e.TreatedAt)
		e.CreatedAt, e.UpdatedAt, e.CancelledAt = now, now, time.Time{}
		nextEnrollment++
		it.created, it.enroll, it.patient = true, &e, st
		b.stored[k] = &storedEnrollment{e: &e, patient: st}
		b.newEnrollments = append(b.newEnrollments, it)
	}
	return nil
}

// newPatient is ne's patient, new to clinic cid, with id id, and the
// consent it gives.
func (b *enrollBatch) newPatient(ne *aftercare.NewEnrollment, cid, id int64) *patientState {
	st := &patientState{p: *ne.Patient, isNew: true}
	p := &st.p
	p.ID, p.ClinicID, p.CreatedAt, p.UpdatedAt = id, cid, b.now, b.now
	p.SMSConsent.At, p.EmailConsent.At = norm(p.SMSConsent.At), norm(p.EmailConsent.At)
	p.SMSOptOutAt, p.EmailOptOut = norm(p.SMSOptOutAt), norm(p.EmailOptOut)
	b.byMatch[ckey{cid, ne.Patient.MatchKey()}] = st
	b.byID[p.ID] = st
	b.newPatients = append(b.newPatients, st)
	for _, ch := range []aftercare.Channel{aftercare.SMS, aftercare.Email} {
		if (ch == aftercare.SMS && p.SMSConsent.Given()) || (ch == aftercare.Email && p.EmailConsent.Given()) {
			b.consents = append(b.consents, consentGiven(p, ch, ne.UserID))
		}
	}
	return st
}

// write stores what decide decided, parents first for the foreign keys:
// patients (new, then changed), consent events, then the enrollments and
// their messages.
func (b *enrollBatch) write(ctx context.Context, tx *sqlx.Tx) error {
	nowS := formatTime(b.now)
	if len(b.newPatients) > 0 {
		pb := newBulk(tx, "patients", patientInsertColumns)
		defer pb.close()
		for _, st := range b.newPatients {
			p := &st.p
			err := pb.add(ctx, p.ID, p.ClinicID, p.MatchKey(), p.Name, p.Phone, p.Email, p.TZ, p.Lang,
				ts(p.SMSConsent.At), p.SMSConsent.Source, ts(p.EmailConsent.At), p.EmailConsent.Source,
				ts(p.SMSOptOutAt), ts(p.EmailOptOut), nowS, nowS)
			if err != nil {
				return err
			}
		}
		if err := pb.flush(ctx); err != nil {
			return err
		}
	}
	if len(b.dirtyPatients) > 0 {
		stmt, err := tx.PreparexContext(ctx, updatePatient)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, st := range b.dirtyPatients {
			p := &st.p
			_, err := stmt.ExecContext(ctx, p.TZ, p.Lang, ts(p.SMSConsent.At), p.SMSConsent.Source,
				ts(p.EmailConsent.At), p.EmailConsent.Source, ts(p.SMSOptOutAt), ts(p.EmailOptOut), ts(p.UpdatedAt), p.ID)
			if err != nil {
				return err
			}
		}
	}
	if len(b.consents) > 0 {
		cb := newBulk(tx, "consent_events", consentEventColumns)
		defer cb.close()
		for _, row := range b.consents {
			if err := cb.add(ctx, row...); err != nil {
				return err
			}
		}
		if err := cb.flush(ctx); err != nil {
			return err
		}
	}
	if len(b.newEnrollments) == 0 {
		return nil
	}
	return b.writeEnrollments(ctx, tx, nowS)
}

// plannedRow is a message of the batch, in the order messages get IDs.
type plannedRow struct {
	it   *enrollItem
	k    int   // index in it.ne.Messages
	seq  int   // batch order
	send int64 // Unix milliseconds (send times are stored to the millisecond)
}

// writeEnrollments gives the new enrollments' messages their IDs and texts,
// keeps those far ahead on their enrollment (plan.go), and writes the
// enrollments, the texts and the other messages as rows.
//
// Messages get their IDs in (send time, batch order) order, so that the
// batch's rows go into the indexes kept in send time order (messages_due,
// messages_log_status) as ascending runs rather than at random: each index
// page is visited once per batch, not once per message. Within an
// enrollment, whose plan is in send time order, IDs still follow the plan.
func (b *enrollBatch) writeEnrollments(ctx context.Context, tx *sqlx.Tx, nowS string) error {
	total := 0
	for _, it := range b.newEnrollments {
		total += len(it.ne.Messages)
	}
	all := make([]plannedRow, 0, total)
	for _, it := range b.newEnrollments {
		it.msgIDs = make([]int64, len(it.ne.Messages))
		for k, m := range it.ne.Messages {
			all = append(all, plannedRow{it, k, len(all), m.SendAt.UnixMilli()})
		}
	}
	slices.SortFunc(all, func(a, b plannedRow) int {
		if c := cmp.Compare(a.send, b.send); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	nextMessage, err := messageIDs(ctx, tx, len(all))
	if err != nil {
		return err
	}
	texts := newTextWriter(tx)
	defer texts.close()
	rows := all[:0]
	var textIDs []int64
	kept := make(map[*enrollItem][]plan.Kept)
	for _, pm := range all {
		id := nextMessage
		nextMessage++
		pm.it.msgIDs[pm.k] = id
		m := pm.it.ne.Messages[pm.k]
		textID, err := texts.id(ctx, m.Subject, m.Body)
		if err != nil {
			return err
		}
		if plan.Keeps(m, b.now) {
			ks := kept[pm.it]
			if ks == nil {
				ks = make([]plan.Kept, 0, len(pm.it.ne.Messages))
			}
			kept[pm.it] = append(ks, plan.KeptOf(m, id, textID))
			continue
		}
		rows = append(rows, pm)
		textIDs = append(textIDs, textID)
	}

	eb := newBulk(tx, "enrollments", enrollmentInsertColumns)
	defer eb.close()
	for _, it := range b.newEnrollments {
		var plannedCol, plannedNext any  // NULL: none
		if ks := kept[it]; len(ks) > 0 { // in send time order, as all
			plannedCol, plannedNext = plan.Append(make([]byte, 0, 48*len(ks)), ks), formatTime(ks[0].SendAt)
		}
		e := it.enroll
		err := eb.add(ctx, e.ID, e.ClinicID, e.PatientID, e.ProtocolID, ts(e.TreatedAt), e.Status, e.Key, e.Source,
			nowS, nowS, nil, plannedCol, plannedNext)
		if err != nil {
			return err
		}
	}
	if err := eb.flush(ctx); err != nil {
		return err
	}
	if err := texts.flush(ctx); err != nil {
		return err
	}
	mb := newBulk(tx, "messages", messageInsertColumns)
	defer mb.close()
	for i, pm := range rows {
		mb.args = messageArgs(mb.args, pm.it.msgIDs[pm.k], pm.it.enroll, pm.it.ne.Messages[pm.k], textIDs[i], nowS)
		if err := mb.added(ctx); err != nil {
			return err
		}
	}
	return mb.flush(ctx)
}

// storedEnrollment is an enrollment the clinic has (or will have once the
// batch is written) and, when known, its patient.
type storedEnrollment struct {
	e       *aftercare.Enrollment
	patient *patientState
}

// messageArgs appends to dst the values of messageInsertColumns for m,
// planned for e, its text stored as message_texts row textID.
func messageArgs(dst []any, id int64, e *aftercare.Enrollment, m *aftercare.Message, textID int64, nowS string) []any {
	send, expires, next := check.PlannedTimes(m)
	return append(dst, id, e.ClinicID, e.ID, e.PatientID, m.StepKey, int64(m.Occurrence), string(m.Channel), m.Lang,
		string(m.Status), formatTime(send), ts(expires), m.Note, textID, int64(m.Segments), ts(next),
		nowS, nowS)
}
