package storetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/aftercare/aftercare"
)

// secretGroups check aftercare.SecretStore.
var secretGroups = []testGroup{
	{"Secret", []testCase{
		{"MadeOnceKept", testSecret},
	}},
}

func testSecret(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	calls := 0
	gen := func() []byte { calls++; return bytes.Repeat([]byte{byte(calls)}, 32) }
	a, err := s.Secret(ctx, "links", gen)
	if err != nil || len(a) != 32 {
		t.Fatalf("first: %v %v", a, err)
	}
	b, err := s.Secret(ctx, "links", gen)
	if err != nil || !bytes.Equal(a, b) || calls != 1 {
		t.Fatalf("second call gave %v (gen called %d times), want the stored %v", b, calls, a)
	}
	if c, _ := s.Secret(ctx, "other", gen); bytes.Equal(a, c) {
		t.Error("two names share a secret")
	}
}
