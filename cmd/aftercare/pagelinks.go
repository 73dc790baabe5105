package main

import (
	"context"
	"crypto/rand"
	"strings"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler/dispatch"
)

// linkSigner signs the links in patients' messages (the patient's page,
// unsubscribe) with the "link-key" secret kept in the database, made on
// first use, so that every process on the same database signs alike and a
// restart keeps sent links working.
func (a *app) linkSigner(ctx context.Context) (*aftercare.Signer, error) {
	key, err := a.store.Secret(ctx, "link-key", func() []byte {
		b := make([]byte, 32)
		rand.Read(b) // never returns an error: since Go 1.24 it crashes the program instead
		return b
	})
	if err != nil {
		return nil, err
	}
	return aftercare.NewSigner(key)
}

// pageLinks makes the patients' page links of this server under
// AFTERCARE_PUBLIC_URL. Without a public URL, no link is made: a link to
// this machine's address would reach no patient.
func (a *app) pageLinks(signer *aftercare.Signer, publicURL string) *dispatch.PageLinks {
	return &dispatch.PageLinks{Signer: signer, PublicURL: strings.TrimSuffix(publicURL, "/"), Store: a.store}
}
