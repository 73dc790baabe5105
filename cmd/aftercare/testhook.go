package main

// failpointVar names the one test hook of the binary. The crash test runs
// the real binary, so it can only reach serve through its environment; the
// hook is read here and nowhere else, is not a field of Config and is not
// documented for operators.
const failpointVar = "AFTERCARE_FAILPOINT"

// failpointHook returns the dispatcher's Failpoint that kills serve at the
// point of dispatch named by AFTERCARE_FAILPOINT (the crash test's), or nil
// when it is unset.
func (a *app) failpointHook() func(point string) {
	if at, _ := a.env(failpointVar); at != "" {
		return failpoint(at)
	}
	return nil
}
