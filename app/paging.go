package app

import (
	"encoding/base64"
	"strconv"

	"github.com/candorhq/candor/internal/fault"
)

// Page sizes of the listing use cases.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Page asks for one page of a listing: how many (0: DefaultPageSize) from
// where a previous page's NextPageToken left off ("" from the start).
type Page struct {
	Size  int32
	Token string
}

// bounds checks a page: the offset to read from and how many.
func (p Page) bounds() (offset, size int64, err error) {
	size = int64(p.Size)
	switch {
	case size == 0:
		size = DefaultPageSize
	case size < 0 || size > MaxPageSize:
		return 0, 0, fault.Invalidf("page_size: must be between 1 and %d", MaxPageSize)
	}
	offset, err = decodePageToken(p.Token)
	return offset, size, err
}

// nextPageToken is the token of the page after one that read n records
// from offset, of total; empty at the end.
func nextPageToken(offset, n, total int64) string {
	if next := offset + n; next < total {
		return encodePageToken(next)
	}
	return ""
}

func encodePageToken(offset int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.FormatInt(offset, 10)))
}

func decodePageToken(tok string) (int64, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil && len(raw) > 2 && string(raw[:2]) == "o:" {
		if off, err := strconv.ParseInt(string(raw[2:]), 10, 64); err == nil && off >= 0 {
			return off, nil
		}
	}
	return 0, fault.Invalidf("page_token: not a token from a previous response")
}
