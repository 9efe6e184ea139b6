package web

import (
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/server/grpcapi"
	"github.com/candorhq/candor/server/observe"
)

// pagesFS holds the pages' templates and style sheets.
//
//go:embed templates/*.html templates/*.css
var pagesFS embed.FS

func mustRead(fs embed.FS, name string) []byte {
	b, err := fs.ReadFile(name)
	if err != nil {
		panic("web: " + err.Error())
	}
	return b
}

// pageCSP allows our own style sheet and forms posting to ourselves, and
// nothing else: no script, no image, no frame, no other origin.
const pageCSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxForm bounds a form's body. A control's is a few hundred bytes; the
// largest is a review request: a message as long as the textarea lets a
// browser send (explain.MaxReviewMessage UTF-16 units, each up to three
// bytes of UTF-8 or a CRLF, percent-encoded) is under 20 KB, so that even
// one over the domain's limit reaches it and is refused with the field
// named.
const maxForm = 32 << 10

// flashTTL is how long a status message waits for the next page view.
const flashTTL = time.Minute

// Options configure the pages.
type Options struct {
	Logger  *slog.Logger
	Metrics *observe.Metrics
	// ExportTimeout bounds the download of the export (the write deadline
	// of its response).
	ExportTimeout time.Duration
}

// Pages serves the customer's pages over the core.
type Pages struct {
	core *app.App
	log  *slog.Logger
	obs  *observe.Metrics
	opts Options
}

// New returns the pages over core.
func New(core *app.App, o Options) *Pages {
	return &Pages{core: core, log: o.Logger, obs: o.Metrics, opts: o}
}

// Register serves the pages on e: the why page under /why, the privacy
// center under /privacy.
func (p *Pages) Register(e *echo.Echo) {
	// Every response of a page, refusals by the router (404, 405)
	// included, gets the pages' headers and is observed.
	e.Use(p.observePages, pageHeaders)
	p.registerWhy(e)
	p.registerPrivacy(e)
}

// customerPages are the path prefixes of the pages a customer opens with a
// customer token.
var customerPages = []string{whyRoot, privacyPath}

func customerPage(path string) bool {
	for _, prefix := range customerPages {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return true
		}
	}
	return false
}

// observePages records every page request by its route template.
func (p *Pages) observePages(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !customerPage(c.Request().URL.Path) {
			return next(c)
		}
		start := time.Now()
		aborted := true // until next returns: a panic (an export cut short) is a failure
		defer func() {
			status := c.Response().Status
			if aborted {
				status = http.StatusInternalServerError
			}
			p.obs.Page(c.Request().Context(), routeLabel(c), observe.Outcome{Code: statusLabel(status), Failed: status >= 500}, time.Since(start))
		}()
		if err := next(c); err != nil {
			c.Error(err) // write the error's page now, to observe its status
		}
		aborted = false
		return nil
	}
}

// routeLabel is a request's method and route template, from small fixed
// sets: any method but GET, HEAD and POST is "OTHER", so a caller cannot
// make up labels.
func routeLabel(c echo.Context) string {
	method := c.Request().Method
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		method = "OTHER"
	}
	route := c.Path()
	if route == "" {
		route = "other"
	}
	return method + " " + route
}

// statusLabel names an HTTP status ("See Other"), or gives its number.
func statusLabel(status int) string {
	if text := http.StatusText(status); text != "" {
		return text
	}
	return strconv.Itoa(status)
}

// pageHeaders marks every response of a customer's page private and locks
// it down.
func pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !customerPage(c.Request().URL.Path) {
			return next(c)
		}
		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Robots-Tag", "noindex, nofollow")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		return next(c)
	}
}

func renderPage(c echo.Context, code int, t *template.Template, data any) error {
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		return err
	}
	return c.HTMLBlob(code, []byte(b.String()))
}

// session verifies a customer token.
func (p *Pages) session(token string) (app.Session, bool) {
	sess, err := p.core.OpenToken(token)
	return sess, err == nil
}

// actor is the customer of a session, with the request's GPC signal.
func actor(c echo.Context, sess *app.Session) app.Actor {
	return app.CustomerActor(sess.Customer, sendsGPC(c.Request()))
}

// sendsGPC reports whether a page request carries "Sec-GPC: 1".
func sendsGPC(r *http.Request) bool { return grpcapi.SendsGPC(r.Header.Values("Sec-GPC")) }

// formLabel derives the form token from the session.
const formLabel = "candor/why-form"

// formToken is the per-session token every form carries.
func (p *Pages) formToken(sess app.Session) string {
	return p.core.Codec().Blind(formLabel, sess.Token)
}

// startSession moves a link's verified token into the session cookie name,
// scoped to path and expiring with the token.
func (p *Pages) startSession(c echo.Context, name, path string, sess app.Session) {
	cookie := cookieOf(c.Request(), name, sess.Token, path, int(sess.Expires.Sub(p.core.Now()).Seconds()))
	cookie.Expires = sess.Expires
	c.SetCookie(cookie)
}

// cookieSession verifies the session in the cookie name. found is false
// when the request carries no such cookie; one that no longer verifies
// (expired, forged) is deleted, and ok is false.
func (p *Pages) cookieSession(c echo.Context, name, path string) (sess app.Session, found, ok bool) {
	cookie, err := c.Request().Cookie(name)
	if err != nil {
		return app.Session{}, false, false
	}
	sess, ok = p.session(cookie.Value)
	if !ok {
		c.SetCookie(cookieOf(c.Request(), name, "", path, -1))
	}
	return sess, true, ok
}

// checkForm checks a form's request: who started it, the session cookie
// name, the form body and the form token, in that order, before anything
// is written. A refused request is answered by refuse, with the status and
// the kind of message ("stale", "expired" or "invalid"), and checkForm
// returns nil with the error of writing that answer.
func (p *Pages) checkForm(c echo.Context, name, path string, refuse func(code int, kind string) error) (*app.Session, error) {
	r := c.Request()
	if startedElsewhere(r) {
		return nil, refuse(http.StatusForbidden, "stale")
	}
	sess, _, ok := p.cookieSession(c, name, path)
	if !ok {
		return nil, refuse(http.StatusUnauthorized, "expired")
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return nil, refuse(http.StatusBadRequest, "invalid")
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(p.formToken(sess))) != 1 {
		return nil, refuse(http.StatusForbidden, "stale")
	}
	return &sess, nil
}

// cookieOf returns one of the pages' cookies: HttpOnly, SameSite=Strict, and
// Secure when the browser reached us over TLS (directly, or through a proxy
// that terminates TLS and says so with X-Forwarded-Proto: https; a forged
// header can only make the cookie stricter). maxAge < 0 deletes it.
func cookieOf(r *http.Request, name, value, path string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(r),
	}
}

func overTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// startedElsewhere reports whether another site started the request.
func startedElsewhere(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	return false
}

// setSealed keeps v (as JSON) in a short-lived cookie of the page at path,
// sealed under ad and bound to bind, so that it can be neither read nor
// forged, nor moved to another page.
func (p *Pages) setSealed(c echo.Context, name, path, ad, bind string, v any, ttl time.Duration) {
	raw, err := json.Marshal(v)
	if err != nil {
		return
	}
	sealed := p.core.Codec().Seal(raw, ad, bind)
	c.SetCookie(cookieOf(c.Request(), name, base64.RawURLEncoding.EncodeToString(sealed), path, int(ttl.Seconds())))
}

// openSealed reads a cookie setSealed wrote into v; false when there is
// none, or it is forged or unreadable.
func (p *Pages) openSealed(c echo.Context, name, ad, bind string, v any) bool {
	cookie, err := c.Request().Cookie(name)
	if err != nil {
		return false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(cookie.Value)
	if err != nil {
		return false
	}
	raw, err := p.core.Codec().Open(sealed, ad, bind)
	if err != nil {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}

// takeSealed is openSealed that also deletes the cookie, if any.
func (p *Pages) takeSealed(c echo.Context, name, path, ad, bind string, v any) bool {
	if _, err := c.Request().Cookie(name); err != nil {
		return false
	}
	c.SetCookie(cookieOf(c.Request(), name, "", path, -1))
	return p.openSealed(c, name, ad, bind, v)
}
