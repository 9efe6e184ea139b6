package features

import (
	"errors"
	"fmt"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/internal/fault"
	"github.com/candorhq/candor/internal/redisx"
)

// ErrInvalid marks input a caller must correct. It is consent.ErrInvalid, so
// one check covers both packages.
var ErrInvalid = consent.ErrInvalid

// ErrNotFound is returned when an item or record does not exist.
var ErrNotFound = fault.Kind(fault.NotFound, "not found")

// ErrConflict is returned when concurrent writers kept a change from
// completing; the caller may retry. It is redisx.ErrContention.
var ErrConflict = redisx.ErrContention

// ErrCorrupt is returned when a stored value cannot be decrypted or decoded.
// It never carries the value itself, and it is ours, not the caller's
// (Internal).
var ErrCorrupt = errors.New("stored value cannot be read")

func invalidf(field, format string, args ...any) error {
	return fault.Wrapf(ErrInvalid, "%s: %s", field, fmt.Sprintf(format, args...))
}
