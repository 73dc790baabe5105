// Package docs holds the guides that the staff app serves too: the web
// package renders ProtocolGuide at /help/protocols, so that the guide a
// manager reads beside the protocol editor is the one in this directory.
package docs

import _ "embed" // for ProtocolGuide

// ProtocolGuide is protocols.md, the guide to writing a protocol
// (Markdown).
//
//go:embed protocols.md
var ProtocolGuide []byte
