// Package templates reads protocol documents and renders message text.
//
// Parse turns a clinic's YAML protocol (docs/protocols.md) into an
// aftercare.Protocol, reporting every problem with its file, line and column.
// Compile prepares a protocol's message templates once per protocol version;
// Renderer.Render then fills in one message for one patient. Messages use Go
// text/template syntax limited to an allow-list of fields and the stepDate
// function, so a clinic's file cannot run arbitrary template code.
// Segments counts the SMS parts a text is sent as, and Builtins returns the
// protocols shipped in the binary.
package templates
