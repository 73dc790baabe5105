// Package dispatch sends the messages the scheduler planned: it claims due
// messages (Dispatcher.Tick), hands each to its channel's Route, records
// every attempt and outcome, holds a lease on its claims (lease.go), and
// settles what is left unknown (Reconciliation). At send time it adds what
// only then can be made: the opt-out notice on the first text that reaches
// a provider, the patient's page link (PageLinks), the unsubscribe link
// (Links) and the timeline calendar of the first email (calendar.go,
// ics.go).
//
// It imports the domain and nothing of the scheduler's service, protocol
// expansion or templates (no YAML, no cron): the senders' contracts are the
// domain's aftercare.Sender and aftercare.Reconciler, so notify/* and this
// package stay small and free of each other. The scheduler's service uses
// PageLinks for previews and its inbound answers use SendNow; the cron jobs
// that call Tick and Run are wired in cmd through scheduler.Jobs.
package dispatch
