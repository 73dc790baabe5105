package web

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/aftercare/aftercare"
)

// Sign-in attempts are limited twice, and neither limit is per account
// alone, so wrong passwords typed elsewhere never lock a user out:
//
//   - per client address: a generous limit that stops one address from
//     trying many accounts (a clinic's staff may share one address);
//   - per (client address, account): a tight limit that stops one address
//     from guessing one account's password.
//
// Both tables are LRUs of a fixed size, and keys are bounded (an address,
// and an email of at most maxEmail bytes), so whatever is posted the
// limiters use at most a few megabytes.
const (
	addressBurst = 30
	addressEvery = 2 * time.Second
	accountBurst = 5
	accountEvery = 12 * time.Second
	// maxLimiters bounds each table; the least recently used limiter goes
	// first. A limiter costs about 0.5 KB with its key.
	maxLimiters = 10000
	// maxEmail is the longest email address there is (RFC 5321's path
	// limit less the brackets); longer input is refused before anything
	// about it is stored.
	maxEmail = 254
)

// authState is the server's in-memory part of authentication: the sign-in
// rate limits. It is per process; a lockout does not need to be shared.
type authState struct {
	mu      sync.Mutex
	address *limiterTable
	account *limiterTable
}

func (a *authState) tables() (address, account *limiterTable) {
	if a.address == nil {
		a.address = newLimiterTable(rate.Every(addressEvery), addressBurst, maxLimiters)
		a.account = newLimiterTable(rate.Every(accountEvery), accountBurst, maxLimiters)
	}
	return a.address, a.account
}

// allowAddress reports whether ip may try to sign in now. It is checked
// before anything about the attempt is read or stored.
func (a *authState) allowAddress(now time.Time, ip string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	address, _ := a.tables()
	return address.allow(now, ip)
}

// allowAccount reports whether ip may try email's password now. email must
// already be bounded by maxEmail.
func (a *authState) allowAccount(now time.Time, ip, email string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, account := a.tables()
	return account.allow(now, ip+"\x00"+email)
}

// size is the number of limiters held (tests).
func (a *authState) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	address, account := a.tables()
	return address.ll.Len() + account.ll.Len()
}

// limiterTable is a fixed-size LRU of token buckets. It is not safe for
// concurrent use; authState locks it.
type limiterTable struct {
	every rate.Limit
	burst int
	max   int
	ll    *list.List // front: most recently used
	m     map[string]*list.Element
}

type limiterEntry struct {
	key string
	l   *rate.Limiter
}

func newLimiterTable(every rate.Limit, burst, max int) *limiterTable {
	return &limiterTable{every: every, burst: burst, max: max, ll: list.New(), m: map[string]*list.Element{}}
}

// allow takes one token from key's bucket, making the bucket if needed and
// evicting the least recently used one when the table is full.
func (t *limiterTable) allow(now time.Time, key string) bool {
	if e, ok := t.m[key]; ok {
		t.ll.MoveToFront(e)
		return e.Value.(*limiterEntry).l.AllowN(now, 1)
	}
	// A full bucket tells nothing: evicting it loses nothing. Look at the
	// oldest few first, so a busy table keeps the buckets that matter.
	if t.ll.Len() >= t.max {
		for i, e := 0, t.ll.Back(); i < 8 && e != nil; i++ {
			prev := e.Prev()
			if x := e.Value.(*limiterEntry); x.l.TokensAt(now) >= float64(t.burst) {
				t.ll.Remove(e)
				delete(t.m, x.key)
			}
			e = prev
		}
		for t.ll.Len() >= t.max {
			e := t.ll.Back()
			t.ll.Remove(e)
			delete(t.m, e.Value.(*limiterEntry).key)
		}
	}
	// strings.Clone: the key must not pin the request's form in memory.
	x := &limiterEntry{key: strings.Clone(key), l: rate.NewLimiter(t.every, t.burst)}
	t.m[x.key] = t.ll.PushFront(x)
	return x.l.AllowN(now, 1)
}

// clientIP is the address a request came from: the connection's peer, or,
// when that peer is a trusted proxy (Server.TrustedProxies), the nearest
// address in X-Forwarded-For that is not one. X-Forwarded-For is ignored
// unless proxies are configured: anyone can send it.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.TrustedProxies) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a garbled hop: trust nothing before it
		}
		if !s.trusted(a.Unmap()) {
			return a.Unmap().String()
		}
	}
	return host
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies reads AFTERCARE_TRUSTED_PROXIES: addresses or CIDR
// prefixes separated by commas ("" is none).
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, aftercare.Errorf(aftercare.EINVALID, "AFTERCARE_TRUSTED_PROXIES: %q is not an address or a prefix such as 10.0.0.0/8", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
