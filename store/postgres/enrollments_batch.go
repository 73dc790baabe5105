package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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

// enrollAttempts is how many times EnrollBatch runs its transaction when
// another one (a replica enrolling the same patient or key at the same
// moment) commits a row it was about to insert: the next attempt finds
// that row and matches it.
const enrollAttempts = 3

// EnrollBatch is Enroll for many NewEnrollments in one transaction: all are
// written or, on any error, none. created[i] says whether batch[i] was new;
// an item whose Key an earlier item of the batch has is not new. Errors are
// Enroll's, their message naming the item ("batch item 3: ...").
//
// Rows are written with COPY, their ids drawn from the tables' sequences
// beforehand, so that messages can refer to their enrollments and texts
// without reading anything back.
func (db *DB) EnrollBatch(ctx context.Context, batch []*aftercare.NewEnrollment) ([]bool, error) {
	if len(batch) == 0 {
		return []bool{}, nil
	}
	cids := make([]int64, len(batch))
	for i, ne := range batch {
		cid, err := check.NewEnrollment(ne)
		if err != nil {
			return nil, check.ItemError(i, len(batch), err)
		}
		cids[i] = cid
	}
	now := db.now()
	var items []enrollItem
	var err error
	for range enrollAttempts {
		items = make([]enrollItem, len(batch))
		for i, ne := range batch {
			items[i] = enrollItem{ne: ne, clinicID: cids[i]}
		}
		err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			return enrollTx(ctx, tx, items, now)
		})
		if !retryable(err) {
			break
		}
	}
	if err != nil {
		return nil, dbError("enroll", err)
	}
	created := make([]bool, len(items))
	for i := range items {
		items[i].apply(now)
		created[i] = items[i].created
	}
	return created, nil
}

// retryable reports whether err can come from a concurrent enrollment, and
// so go away on a second attempt: a unique violation of a patient's match
// key or an enrollment's key (the other committed the row first; this
// batch's own duplicates are decided in memory and never reach the
// database), or a deadlock between two batches that share patients.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case codeUnique:
		return pe.ConstraintName == "patients_match_key" || pe.ConstraintName == "enrollments_idem_key"
	case codeDeadlock:
		return true
	}
	return false
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

// consentRow is a consent an enrollment gave: a consent_events row, written
// once its patient has its id.
type consentRow struct {
	st     *patientState
	ch     aftercare.Channel
	userID int64
}

func (c consentRow) values() []any {
	p := &c.st.p
	con := p.SMSConsent
	if c.ch == aftercare.Email {
		con = p.EmailConsent
	}
	return []any{p.ClinicID, p.ID, string(c.ch), string(aftercare.ConsentGiven), con.At, con.Source, c.userID}
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

// protocolRef is what an Enrollment carries of its protocol.
type protocolRef struct {
	slug    string
	version int
}

// storedEnrollment is an enrollment the clinic has (or will have once the
// batch is written) and, when known, its patient.
type storedEnrollment struct {
	e       *aftercare.Enrollment
	patient *patientState
}

// enrollTx does EnrollBatch's work inside its transaction, in four steps:
// load reads what the batch refers to with a few = ANY($n) queries per
// clinic, decide works out every row in memory (new rows get provisional,
// negative ids), allocate draws the real ids from the sequences in one
// query, and write stores the rows with COPY.
func enrollTx(ctx context.Context, tx pgx.Tx, items []enrollItem, now time.Time) error {
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
	b.decide()
	if err := b.allocate(ctx, tx); err != nil {
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
	consents                   []consentRow

	// allocate
	rows    []plannedRow // the new enrollments' messages, in id order
	texts   []textKey    // their distinct texts
	textIDs []int64      // and those texts' ids
	near    []plannedRow // the messages written as rows (rows less those kept), in id order
	// kept holds each new enrollment's messages kept on it (plan.Keeps),
	// in send time order.
	kept map[*enrollItem][]plan.Kept
}

// plannedRow is a message of the batch, in the order messages get IDs.
type plannedRow struct {
	it   *enrollItem
	k    int   // index in it.ne.Messages
	seq  int   // batch order
	send int64 // Unix milliseconds (send times are stored to the millisecond)
	text int   // index of its text in enrollBatch.texts
}

const (
	batchProtocols   = `SELECT id, slug, version FROM protocols WHERE clinic_id = $1 AND id = ANY($2)`
	batchEnrollments = `SELECT ` + enrollmentColumns + enrollmentFrom + ` WHERE e.clinic_id = $1 AND e.idem_key = ANY($2)`
	// The patients an enrollment may change are locked, so that two
	// enrollments of one patient at once do not lose each other's consent.
	batchPatientsMK = `SELECT ` + patientColumns + `, match_key FROM patients WHERE clinic_id = $1 AND match_key = ANY($2)
	FOR NO KEY UPDATE`
	batchPatientsID = `SELECT ` + patientColumns + `, match_key FROM patients WHERE clinic_id = $1 AND id = ANY($2)`
)

// load reads the batch's protocols, the enrollments the clinics already
// have with the batch's keys, and the patients: those the new enrollments
// match and those of the enrollments already stored. ENOTFOUND names the
// first item whose protocol is not its clinic's.
func (b *enrollBatch) load(ctx context.Context, tx pgx.Tx) error {
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
		err := eachRow(ctx, tx, func(rows pgx.Rows) error {
			var id int64
			var ref protocolRef
			if err := rows.Scan(&id, &ref.slug, &ref.version); err != nil {
				return err
			}
			b.protocols[idKey{cid, id}] = ref
			return nil
		}, batchProtocols, cid, dedupe(protocolsOf[cid]))
		if err != nil {
			return err
		}
		err = eachRow(ctx, tx, func(rows pgx.Rows) error {
			e, err := scanEnrollment(rows)
			if err == nil {
				b.stored[ckey{cid, e.Key}] = &storedEnrollment{e: e}
			}
			return err
		}, batchEnrollments, cid, dedupe(keysOf[cid]))
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
func (b *enrollBatch) loadPatients(ctx context.Context, tx pgx.Tx, cid int64) error {
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
	add := func(rows pgx.Rows) error {
		p, mk, err := scanPatientMK(rows)
		if err == nil && b.byID[p.ID] == nil {
			st := &patientState{p: *p}
			b.byID[p.ID] = st
			b.byMatch[ckey{p.ClinicID, mk}] = st
		}
		return err
	}
	if len(mks) > 0 {
		if err := eachRow(ctx, tx, add, batchPatientsMK, cid, dedupe(mks)); err != nil {
			return err
		}
	}
	if len(ids) > 0 {
		return eachRow(ctx, tx, add, batchPatientsID, cid, dedupe(ids))
	}
	return nil
}

// decide goes through the batch in order: an item whose key is stored
// (or came earlier in the batch) takes the stored enrollment; any other is
// a new enrollment, of a new patient or of a matched one that may gain
// zone, language and consent. New patients and enrollments get
// provisional ids -1, -2, ... (allocate replaces them).
func (b *enrollBatch) decide() {
	var nextPatient, nextEnrollment int64 = -1, -1
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
			nextPatient--
		} else {
			wasDirty := st.dirty
			for _, ch := range st.merge(ne.Patient, now) {
				b.consents = append(b.consents, consentRow{st, ch, ne.UserID})
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
		nextEnrollment--
		it.created, it.enroll, it.patient = true, &e, st
		b.stored[k] = &storedEnrollment{e: &e, patient: st}
		b.newEnrollments = append(b.newEnrollments, it)
	}
}

// newPatient is ne's patient, new to clinic cid, with provisional id id,
// and the consent it gives.
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
			b.consents = append(b.consents, consentRow{st, ch, ne.UserID})
		}
	}
	return st
}

// allocateIDs draws $1 patient, $2 enrollment, $3 message and $4 text ids
// from the tables' sequences, in one round trip.
const allocateIDs = `SELECT
	ARRAY(SELECT nextval('patients_id_seq') FROM generate_series(1, $1)),
	ARRAY(SELECT nextval('enrollments_id_seq') FROM generate_series(1, $2)),
	ARRAY(SELECT nextval('messages_id_seq') FROM generate_series(1, $3)),
	ARRAY(SELECT nextval('message_texts_id_seq') FROM generate_series(1, $4))`

// allocate gives the new patients and enrollments their ids, and the new
// enrollments' messages and their distinct texts theirs, and sets apart the
// messages kept on their enrollment (plan.Keeps: pending and due a day or
// more after now), which get ids and texts like the others but no row.
//
// Messages get their ids in (send time, batch order) order, so that the
// batch's rows go into the index kept in send time order (messages_due;
// messages_log_status leaves pending rows out) as ascending runs, as on
// SQLite. Within an enrollment, whose plan is in send time order, ids
// still follow the plan.
func (b *enrollBatch) allocate(ctx context.Context, tx pgx.Tx) error {
	total := 0
	for _, it := range b.newEnrollments {
		total += len(it.ne.Messages)
	}
	b.rows = make([]plannedRow, 0, total)
	for _, it := range b.newEnrollments {
		it.msgIDs = make([]int64, len(it.ne.Messages))
		for k, m := range it.ne.Messages {
			b.rows = append(b.rows, plannedRow{it: it, k: k, seq: len(b.rows), send: m.SendAt.UnixMilli()})
		}
	}
	slices.SortFunc(b.rows, func(x, y plannedRow) int {
		if c := cmp.Compare(x.send, y.send); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	index := map[textKey]int{}
	for i := range b.rows {
		pm := &b.rows[i]
		m := pm.it.ne.Messages[pm.k]
		k := textKey{m.Subject, m.Body}
		t, ok := index[k]
		if !ok {
			t = len(b.texts)
			index[k] = t
			b.texts = append(b.texts, k)
		}
		pm.text = t
	}
	var patients, enrollments, messages, texts []int64
	if err := tx.QueryRow(ctx, allocateIDs, len(b.newPatients), len(b.newEnrollments), len(b.rows), len(b.texts)).
		Scan(&patients, &enrollments, &messages, &texts); err != nil {
		return err
	}
	for i, st := range b.newPatients {
		st.p.ID = patients[i]
	}
	for i, it := range b.newEnrollments {
		it.enroll.ID, it.enroll.PatientID = enrollments[i], it.patient.p.ID
	}
	for i, pm := range b.rows {
		pm.it.msgIDs[pm.k] = messages[i]
	}
	b.textIDs = texts
	b.near = b.rows[:0:0]
	b.kept = map[*enrollItem][]plan.Kept{}
	for _, pm := range b.rows {
		m := pm.it.ne.Messages[pm.k]
		if !plan.Keeps(m, b.now) {
			b.near = append(b.near, pm)
			continue
		}
		ks := b.kept[pm.it]
		if ks == nil {
			ks = make([]plan.Kept, 0, len(pm.it.ne.Messages))
		}
		b.kept[pm.it] = append(ks, plan.KeptOf(m, pm.it.msgIDs[pm.k], texts[pm.text]))
	}
	return nil
}
