package features

import (
	"errors"
	"fmt"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/features/redisx"
)

// ErrInvalid marks input a caller must correct. It is consent.ErrInvalid, so
// one check covers both packages.
var ErrInvalid = consent.ErrInvalid

// ErrNotFound is returned when an item or record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when concurrent writers kept a change from
// completing; the caller may retry. It is redisx.ErrContention.
var ErrConflict = redisx.ErrContention

// ErrCorrupt is returned when a stored value cannot be decrypted or decoded.
// It never carries the value itself.
var ErrCorrupt = errors.New("stored value cannot be read")

func invalidf(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}
