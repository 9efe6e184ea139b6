package consent

import (
	"fmt"

	"github.com/candorhq/candor/internal/fault"
)

// ErrInvalid marks input a caller must correct: unknown purposes, methods or
// signal types, missing notice versions, malformed policies. Errors of this
// kind carry a message that names the field and what is wrong with it.
var ErrInvalid = fault.Kind(fault.Invalid, "invalid input")

// ErrNotFound is returned when a policy version does not exist.
var ErrNotFound = fault.Kind(fault.NotFound, "not found")

// ErrVersionConflict is returned when a policy change expected a version that
// is no longer current.
var ErrVersionConflict = fault.Kind(fault.Conflict, "policy version conflict")

// invalidf makes an ErrInvalid naming the offending field and what is wrong
// with it.
func invalidf(field, format string, args ...any) error {
	return fault.Wrapf(ErrInvalid, "%s: %s", field, fmt.Sprintf(format, args...))
}
