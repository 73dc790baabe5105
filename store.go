package aftercare

// Store is everything Aftercare persists. store/sqlite implements it (the
// embedded default); a second engine (store/postgres) implements the same
// interface and passes the same suite, store/storetest.
//
// Every method that takes a clinicID reads or writes only that clinic's rows:
// an id of another clinic's row is ENOTFOUND. Times go in and come out UTC.
//
// Store is made of one contract per noun, each declared beside its noun's
// type, implemented in the store/sqlite file of the same name and checked by
// the storetest file of the same name:
//
//	ClinicStore      clinic.go     sqlite/clinics.go     storetest/clinics.go
//	ProtocolStore    protocol.go   sqlite/protocols.go   storetest/protocols.go
//	PatientStore     patient.go    sqlite/patients.go    storetest/patients.go
//	EnrollmentStore  enrollment.go sqlite/enrollments.go storetest/enrollments.go
//	MessageStore     message.go    sqlite/messages.go    storetest/messages.go
//	DispatchStore    dispatch.go   sqlite/dispatch.go    storetest/dispatch.go
//	AccountStore     account.go    sqlite/accounts.go    storetest/accounts.go
//	ConsentStore     consent.go    sqlite/consent.go     storetest/consent.go
//	SecretStore      signed.go     sqlite/secrets.go     storetest/secrets.go
//	AuditStore       audit.go      sqlite/audit.go       storetest/audit.go
//	RetentionStore   retention.go  sqlite/retention.go   storetest/retention.go
//	InboxStore       inbox.go      sqlite/inbox.go       storetest/inbox.go
//	SummaryStore     summary.go    sqlite/summaries.go   storetest/summaries.go
type Store interface {
	ClinicStore
	ProtocolStore
	PatientStore
	EnrollmentStore
	MessageStore
	DispatchStore
	AccountStore
	ConsentStore
	SecretStore
	AuditStore
	RetentionStore
	InboxStore
	SummaryStore
	Close() error
}
