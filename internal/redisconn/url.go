package redisconn

import (
	"net/url"
	"strings"
)

// URL is a Redis address that may hold a password: one redis:// or
// rediss:// URL, or a comma-separated list of cluster node addresses (bare
// host:port or URLs); empty is the embedded store. It redacts any password
// when printed or serialised.
type URL string

// String redacts any password.
func (u URL) String() string {
	if u == "" {
		return "(embedded)"
	}
	parts := strings.Split(string(u), ",")
	for i, part := range parts {
		parts[i] = redactURL(strings.TrimSpace(part))
	}
	return strings.Join(parts, ",")
}

func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s // a bare host:port holds no password
	}
	parsed, err := url.Parse(s)
	if err != nil {
		return "[unparseable, redacted]"
	}
	if parsed.User != nil {
		if _, has := parsed.User.Password(); has {
			parsed.User = url.UserPassword(parsed.User.Username(), "redacted")
		}
	}
	return parsed.String()
}

// GoString redacts any password from %#v.
func (u URL) GoString() string { return "redisconn.URL(" + u.String() + ")" }

// MarshalText redacts any password.
func (u URL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }
