package main

import (
	"errors"
	"fmt"

	"github.com/kelseyhightower/envconfig"

	"github.com/aftercare/aftercare"
)

// envError is loadConfig's error as the operator who set the variable
// reads it: the variable, its value and the form it takes, rather than
// envconfig's "assigning ... to SendConcurrency: converting ... details:
// strconv.ParseInt: ...".
func envError(err error) error {
	var pe *envconfig.ParseError
	if !errors.As(err, &pe) {
		return &aftercare.Error{Code: aftercare.EINVALID, Message: "environment: " + err.Error()}
	}
	want := "a " + pe.TypeName
	switch pe.TypeName {
	case "int", "int64":
		want = "a whole number, e.g. 4"
	case "float64":
		want = "a number, e.g. 1 or 0.5"
	case "time.Duration":
		want = "a duration with its unit, e.g. 30s, 2m or 1h"
	}
	return &aftercare.Error{Code: aftercare.EINVALID, Message: fmt.Sprintf("%s=%q is not %s", pe.KeyName, pe.Value, want)}
}
