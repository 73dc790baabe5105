package web

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLimiterTableBounded: however many keys arrive, the table keeps at
// most maxLimiters, and a key in use keeps its bucket (a guesser cannot
// refill it by flooding the table from the same address: the recently used
// survive).
func TestLimiterTableBounded(t *testing.T) {
	var a authState
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range accountBurst {
		a.allowAccount(now, "192.0.2.1", "ana@x.example")
	}
	long := strings.Repeat("x", maxEmail-20)
	for i := range 3 * maxLimiters {
		a.allowAccount(now, "192.0.2.2", fmt.Sprintf("%d%s", i, long))
		if i%1000 == 0 {
			a.allowAccount(now, "192.0.2.1", "ana@x.example") // still in use
		}
	}
	if n := a.account.ll.Len(); n > maxLimiters || len(a.account.m) != n {
		t.Fatalf("the table holds %d limiters (map %d), want at most %d", n, len(a.account.m), maxLimiters)
	}
	if a.allowAccount(now, "192.0.2.1", "ana@x.example") {
		t.Fatal("the guessed account's bucket was emptied, yet another try is allowed: it was evicted")
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.7 ,::1")
	if err != nil || len(got) != 3 || got[1].String() != "192.0.2.7/32" || got[2].String() != "::1/128" {
		t.Fatalf("ParseTrustedProxies: %v, %v", got, err)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8,proxy.example"); err == nil || !strings.Contains(err.Error(), "proxy.example") {
		t.Fatalf("a host name: %v, want an error naming it", err)
	}
}
