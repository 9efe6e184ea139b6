// Package redisconn connects candor to its store: one Redis, a Redis
// Cluster, or the embedded in-process server (miniredis, for the quick
// start), all behind one redis.UniversalClient. It owns the store's URL
// (URL, which redacts its password when printed or serialised), turning it
// into client options, and the embedded server's lifetime.
//
// It never logs a URL, and never puts one with its password in an error or
// wraps an error that quotes it (url.Parse's errors do): only the redacted
// form leaves the package. It knows nothing of candor's keys or data: those
// are the domain's (features), the shared Redis patterns internal/redisx's.
package redisconn
