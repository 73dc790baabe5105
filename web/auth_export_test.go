package web

// Hooks into the sign-in machinery for the tests of web_test.

// SafeNext is safeNext.
var SafeNext = safeNext

// Limiters counts the sign-in rate limiters s holds.
func (s *Server) Limiters() int { return s.auth.size() }
