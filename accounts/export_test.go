package accounts

// DummyHash is the hash an unknown email's password is compared against.
func DummyHash(s *Service) []byte { return s.dummyHash() }
