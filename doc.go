// Package aftercare is the domain of the Aftercare service: clinics own
// protocols (a treatment's aftercare as data), patients are enrolled on a
// protocol after a treatment, and each enrollment expands into dated messages
// that are sent by SMS or email and logged attempt by attempt.
//
// The package holds the types, their states and rules, and the one error type
// (Error with a Code) that every other package returns. It imports no adapter:
// scheduler/, notify/, store/ and web/ depend on it, never the other way round.
package aftercare
