// Package web is candor's door for the customer's own pages, served by
// echo with html/template files embedded in the binary, no JavaScript and
// no build step: "why am I seeing this" (/why/{recommendation_id}) and the
// privacy center (/privacy). Every action on them is a use case of the core
// (package app), run as the customer; this package owns only what is the
// web's: sessions in cookies, form tokens, headers, templates, and one page
// error mapper derived from the gRPC door's table (grpcapi.Code).
//
// Access. The shop links to /why/{id}?token=ct_... (or /privacy?token=...)
// with a customer token. The page checks the token, moves it into a cookie
// (HttpOnly, SameSite=Strict, scoped to its page, expiring with the token,
// Secure over TLS) and redirects, so the token leaves the address bar, the
// history and any Referer. Every later request is checked against the
// cookie's token: expired or forged gives 401, another customer's answer
// 403.
//
// A SameSite=Strict cookie is not sent on a navigation that another site
// started, even after our own redirect; a customer who follows the link from
// the shop (another site) would arrive without it. Such a request
// (Sec-Fetch-Site cross-site or same-site, and no cookie) gets a page that
// reloads itself at once: that navigation is our own, so the cookie goes
// with it.
//
// CSRF. Besides the SameSite=Strict cookie, every form carries a token
// derived from the session (a keyed HMAC of the customer token, codec.Blind),
// compared in constant time; a POST that another site started
// (Sec-Fetch-Site) is refused too. Mismatches get 403 and change nothing.
//
// Privacy. Every response is Cache-Control: no-store with a strict
// Content-Security-Policy; nothing here logs a token, an id or a customer.
// Requests are observed like API calls (package observe), by route
// template, never by path.
package web
