package consent

import (
	"errors"
	"fmt"
)

// ErrInvalid marks input a caller must correct: unknown purposes, methods or
// signal types, missing notice versions, malformed policies.
var ErrInvalid = errors.New("invalid input")

// ErrNotFound is returned when a policy version does not exist.
var ErrNotFound = errors.New("not found")

// ErrVersionConflict is returned when a policy change expected a version that
// is no longer current.
var ErrVersionConflict = errors.New("policy version conflict")

// invalidf wraps ErrInvalid with the offending field and what is wrong with it.
func invalidf(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}
