package web

import (
	"errors"

	"github.com/aftercare/aftercare"
)

func asError(err error, target **aftercare.Error) bool { return errors.As(err, target) }
