package main

import (
	"context"
	"crypto/rand"
	"strings"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// pageLinks makes the patients' page links of this server: signed with
// the "link-key" secret kept in the database (made on first use, so every
// process on the same database signs alike), under AFTERCARE_PUBLIC_URL.
// Without a public URL, no link is made: a link to this machine's address
// would reach no patient.
func (a *app) pageLinks(ctx context.Context, publicURL string) (*scheduler.PageLinks, error) {
	key, err := a.store.Secret(ctx, "link-key", func() []byte {
		b := make([]byte, 32)
		rand.Read(b)
		return b
	})
	if err != nil {
		return nil, err
	}
	signer, err := aftercare.NewSigner(key)
	if err != nil {
		return nil, err
	}
	return &scheduler.PageLinks{Signer: signer, PublicURL: strings.TrimSuffix(publicURL, "/"), Store: a.store}, nil
}
