package server

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// The "why am I seeing this" page: GET /why/{recommendation_id} renders one
// stored answer with its explanations and a native form for every control;
// the forms post back under the same path and call the same domain code as
// the API, as the customer. Near its end the customer can ask a person to
// look at the answer (a review case, as ReviewService.CreateReview opens);
// the reply reaches them in the privacy center. No JavaScript, no build
// step: html/template files embedded in the binary.
//
// Access. The shop links to /why/{id}?token=ct_... with a customer token.
// The page checks the token, moves it into a cookie (HttpOnly,
// SameSite=Strict, Path=/why, expiring with the token, Secure over TLS) and
// redirects to /why/{id}, so the token leaves the address bar, the history
// and any Referer. Every later request is checked against the cookie's token:
// expired or forged gives 401, another customer's answer 403.
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
// Privacy. Every /why response is Cache-Control: no-store with a strict
// Content-Security-Policy; nothing here logs a token, an id or a customer.
//
// The privacy center (/privacy, privacy.go) is a page of the same kind and
// shares these mechanisms: the session cookie (its own, scoped to /privacy),
// the form token, the refusal of requests another site started, the
// headers, and sealed status messages.

// whyFS holds the page's templates and style sheet.
//
//go:embed templates/*.html templates/*.css
var whyFS embed.FS

// whyTemplates are parsed once; a template error fails every test of the
// package, so it never reaches a running server.
var whyTemplates = struct {
	page, message *template.Template
	css           []byte
}{
	page:    template.Must(template.ParseFS(whyFS, "templates/layout.html", "templates/why.html")),
	message: template.Must(template.ParseFS(whyFS, "templates/layout.html", "templates/message.html")),
	css:     mustRead(whyFS, "templates/why.css"),
}

func mustRead(fs embed.FS, name string) []byte {
	b, err := fs.ReadFile(name)
	if err != nil {
		panic("server: " + err.Error())
	}
	return b
}

const (
	whyCookie      = "candor_why"      // the customer token
	whyFlashCookie = "candor_why_done" // what the last control did, for the status message
	whyCookiePath  = "/why"
	whyStylePath   = "/why/style.css"
	whyFormLabel   = "candor/why-form"  // derives the form token from the session
	whyFlashAD     = "candor/why-flash" // seals the status message's facts
	whyFlashTTL    = time.Minute
	// maxWhyForm bounds a form's body. A control's is a few hundred bytes;
	// the largest is a review request: a message as long as the textarea
	// lets a browser send (explain.MaxReviewMessage UTF-16 units, each up to
	// three bytes of UTF-8 or a CRLF, percent-encoded) is under 20 KB, so
	// that even one over the domain's limit reaches it and is refused with
	// the field named.
	maxWhyForm = 32 << 10
)

// whyCSP allows our own style sheet and forms posting to ourselves, and
// nothing else: no script, no image, no frame, no other origin.
const whyCSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// registerWhy serves the page under /why.
func (s *Server) registerWhy(e *echo.Echo) {
	// Every response under /why, refusals by the router (404, 405)
	// included, gets the page's headers.
	e.Use(whyHeaders)
	e.GET(whyStylePath, whyStyle)
	e.GET("/why/:id", s.whyGet)
	e.POST("/why/:id/controls", s.whyControl)
	e.POST("/why/:id/consent", s.whyConsent)
	e.POST("/why/:id/review", s.whyReview)
	// A GET of a form's address (a bookmark, a reload) goes to the page.
	e.GET("/why/:id/controls", whyBackToPage)
	e.GET("/why/:id/consent", whyBackToPage)
	e.GET("/why/:id/review", whyBackToPage)
	notFound := func(c echo.Context) error { return whyMessage(c, http.StatusNotFound, whyMsg{Kind: "not-found"}) }
	e.RouteNotFound("/why", notFound)
	e.RouteNotFound("/why/*", notFound)
	s.registerPrivacy(e)
}

// customerPages are the path prefixes of the pages a customer opens with a
// customer token: the "why" page and the privacy center.
var customerPages = []string{"/why", "/privacy"}

func customerPage(path string) bool {
	for _, prefix := range customerPages {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return true
		}
	}
	return false
}

// whyHeaders marks every response of a customer's page (/why, /privacy)
// private and locks it down.
func whyHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !customerPage(c.Request().URL.Path) {
			return next(c)
		}
		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", whyCSP)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Robots-Tag", "noindex, nofollow")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		return next(c)
	}
}

func whyStyle(c echo.Context) error {
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", whyTemplates.css)
}

func whyBackToPage(c echo.Context) error {
	if !explain.ValidID(c.Param("id")) {
		return whyMessage(c, http.StatusBadRequest, whyMsg{Kind: "bad-link"})
	}
	return c.Redirect(http.StatusSeeOther, whyPath(c.Param("id")))
}

func whyPath(id string) string { return "/why/" + id }

// whyMsg is what templates/message.html renders.
type whyMsg struct {
	Kind    string // which message (see message.html)
	Detail  string // for "invalid": what was wrong, in the domain's words
	Back    string // a link back to the page, after a failed control
	Refresh string // for "continue": where to go at once
}

func whyMessage(c echo.Context, code int, m whyMsg) error {
	var b strings.Builder
	if err := whyTemplates.message.ExecuteTemplate(&b, "layout", m); err != nil {
		return err
	}
	return c.HTMLBlob(code, []byte(b.String()))
}

// whySession is a verified customer token, from the cookie or the link.
type whySession struct {
	token    string
	customer features.Pseudonym
	expires  time.Time
}

// session verifies a customer token.
func (s *Server) session(token string) (whySession, bool) {
	p, expires, err := s.tokens.open(token)
	if err != nil {
		return whySession{}, false
	}
	return whySession{token: token, customer: p, expires: expires}, true
}

// formToken is the per-session token every form carries.
func (s *Server) formToken(sess whySession) string {
	return s.tokens.codec.Blind(whyFormLabel, sess.token)
}

// startSession moves a link's verified token into the session cookie name,
// scoped to path and expiring with the token.
func (s *Server) startSession(c echo.Context, name, path string, sess whySession) {
	cookie := whyCookieOf(c.Request(), name, sess.token, path, int(sess.expires.Sub(s.now()).Seconds()))
	cookie.Expires = sess.expires
	c.SetCookie(cookie)
}

// cookieSession verifies the session in the cookie name. found is false
// when the request carries no such cookie; one that no longer verifies
// (expired, forged) is deleted, and ok is false.
func (s *Server) cookieSession(c echo.Context, name, path string) (sess whySession, found, ok bool) {
	cookie, err := c.Request().Cookie(name)
	if err != nil {
		return whySession{}, false, false
	}
	sess, ok = s.session(cookie.Value)
	if !ok {
		c.SetCookie(whyCookieOf(c.Request(), name, "", path, -1))
	}
	return sess, true, ok
}

// checkForm checks a form's request: who started it, the session cookie
// name, the form body and the form token, in that order, before anything
// is written. A refused request is answered by refuse, with the status and
// the kind of message ("stale", "expired" or "invalid"), and checkForm
// returns nil with the error of writing that answer.
func (s *Server) checkForm(c echo.Context, name, path string, refuse func(code int, kind string) error) (*whySession, error) {
	r := c.Request()
	if startedElsewhere(r) {
		return nil, refuse(http.StatusForbidden, "stale")
	}
	sess, _, ok := s.cookieSession(c, name, path)
	if !ok {
		return nil, refuse(http.StatusUnauthorized, "expired")
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxWhyForm)
	if err := r.ParseForm(); err != nil {
		return nil, refuse(http.StatusBadRequest, "invalid")
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.formToken(sess))) != 1 {
		return nil, refuse(http.StatusForbidden, "stale")
	}
	return &sess, nil
}

// whyCookieOf returns one of the page's cookies: HttpOnly, SameSite=Strict, and
// Secure when the browser reached us over TLS (directly, or through a proxy
// that terminates TLS and says so with X-Forwarded-Proto: https; a forged
// header can only make the cookie stricter). maxAge < 0 deletes it.
func whyCookieOf(r *http.Request, name, value, path string, maxAge int) *http.Cookie {
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

// whyGet serves the page, or moves a link's token into the cookie.
func (s *Server) whyGet(c echo.Context) error {
	id := c.Param("id")
	if !explain.ValidID(id) {
		return whyMessage(c, http.StatusBadRequest, whyMsg{Kind: "bad-link"})
	}
	r := c.Request()
	if q := r.URL.Query(); q.Has("token") {
		sess, ok := s.session(q.Get("token"))
		if !ok {
			return whyMessage(c, http.StatusUnauthorized, whyMsg{Kind: "expired"})
		}
		s.startSession(c, whyCookie, whyCookiePath, sess)
		return c.Redirect(http.StatusSeeOther, whyPath(id))
	}
	sess, found, ok := s.cookieSession(c, whyCookie, whyCookiePath)
	if !found && startedElsewhere(r) {
		return whyMessage(c, http.StatusOK, whyMsg{Kind: "continue", Refresh: whyPath(id)})
	}
	if !ok {
		return whyMessage(c, http.StatusUnauthorized, whyMsg{Kind: "expired"})
	}
	ctx := r.Context()
	answer, code, msg := s.ownedAnswer(ctx, id, sess)
	if code != 0 {
		return whyMessage(c, code, msg)
	}
	if err := s.pageGPC(c, sess.customer); err != nil {
		return s.whyFailed(c, err, "")
	}
	view, err := s.store.Load(ctx, sess.customer)
	if err != nil {
		return s.whyFailed(c, err, "")
	}
	cases, err := s.reviews.Customer(ctx, sess.customer)
	if err != nil {
		return s.whyFailed(c, err, "")
	}
	page := buildWhyPage(whyPageInput{
		Answer: answer, View: view, Cases: cases, CSRF: s.formToken(sess), Flash: s.takeFlash(c, id),
		Ranking:   explain.RankingDescription(s.rankingFacts(view.Policy)),
		ExpiresIn: sess.expires.Sub(s.now()),
	})
	var b strings.Builder
	if err := whyTemplates.page.ExecuteTemplate(&b, "layout", page); err != nil {
		return s.whyFailed(c, err, "")
	}
	return c.HTMLBlob(http.StatusOK, []byte(b.String()))
}

// ownedAnswer reads a stored answer the session's customer owns; otherwise
// it returns the status and message to answer with.
func (s *Server) ownedAnswer(ctx context.Context, id string, sess whySession) (*explain.Answer, int, whyMsg) {
	owner, answer, err := s.explanations.Get(ctx, id, s.now())
	switch {
	case errors.Is(err, features.ErrNotFound):
		return nil, http.StatusNotFound, whyMsg{Kind: "not-found"}
	case err != nil:
		s.log.ErrorContext(ctx, "why page: reading the answer failed", "route", "/why/:id", "err", err)
		return nil, http.StatusInternalServerError, whyMsg{Kind: "error"}
	case subtle.ConstantTimeCompare([]byte(owner), []byte(sess.customer)) != 1:
		return nil, http.StatusForbidden, whyMsg{Kind: "forbidden"}
	}
	return answer, 0, whyMsg{}
}

// whyPost is a control's request that passed every check.
type whyPost struct {
	id     string
	sess   whySession
	answer *explain.Answer
}

// checkPost checks a control's request: the id, who started it, the cookie,
// the form token and the answer's owner, in that order, before anything is
// written. A refused request gets its page here, and checkPost returns nil
// with the error of writing that page.
func (s *Server) checkPost(c echo.Context) (*whyPost, error) {
	id := c.Param("id")
	if !explain.ValidID(id) {
		return nil, whyMessage(c, http.StatusBadRequest, whyMsg{Kind: "bad-link"})
	}
	back := whyPath(id)
	sess, err := s.checkForm(c, whyCookie, whyCookiePath, func(code int, kind string) error {
		m := whyMsg{Kind: kind}
		if kind != "expired" {
			m.Back = back
		}
		return whyMessage(c, code, m)
	})
	if sess == nil {
		return nil, err
	}
	answer, code, msg := s.ownedAnswer(c.Request().Context(), id, *sess)
	if code != 0 {
		return nil, whyMessage(c, code, msg)
	}
	if err := s.pageGPC(c, sess.customer); err != nil {
		return nil, s.whyFailed(c, err, back)
	}
	return &whyPost{id: id, sess: *sess, answer: answer}, nil
}

// whyControl sets or removes one control, as the customer, through the same
// store calls as the ControlService.
func (s *Server) whyControl(c echo.Context) error {
	p, err := s.checkPost(c)
	if p == nil {
		return err
	}
	r := c.Request()
	back := whyPath(p.id)
	kind, err := features.ParseControlKind("kind", r.PostForm.Get("kind"))
	if err != nil {
		return s.whyFailed(c, err, back)
	}
	target := r.PostForm.Get("target")
	action := r.PostForm.Get("action")
	switch action {
	case "set":
		_, _, err = s.store.SetControl(r.Context(), p.sess.customer, kind, target, string(RoleCustomer), s.now())
	case "remove":
		_, err = s.store.RemoveControl(r.Context(), p.sess.customer, kind, target, string(RoleCustomer), s.now())
	default:
		return whyMessage(c, http.StatusBadRequest, whyMsg{Kind: "invalid", Detail: "action: must be set or remove", Back: back})
	}
	if err != nil {
		return s.whyFailed(c, err, back)
	}
	s.setFlash(c, p.id, whyFlash{Action: action, Kind: kind.String(), Target: target})
	return c.Redirect(http.StatusSeeOther, back)
}

// whyConsent withdraws (or gives again) the consent for the answer's
// purpose, as the customer, through the same store call as the
// ConsentService; the change goes to the consent ledger.
func (s *Server) whyConsent(c echo.Context) error {
	p, err := s.checkPost(c)
	if p == nil {
		return err
	}
	r := c.Request()
	back := whyPath(p.id)
	action := r.PostForm.Get("action")
	if action != "revoke" && action != "grant" {
		return whyMessage(c, http.StatusBadRequest, whyMsg{Kind: "invalid", Detail: "action: must be revoke or grant", Back: back})
	}
	if err := s.pageConsent(r.Context(), p.sess.customer, p.answer.Purpose, action == "grant", sendsGPC(r), "why-page"); err != nil {
		return s.whyFailed(c, err, back)
	}
	s.setFlash(c, p.id, whyFlash{Action: action})
	return c.Redirect(http.StatusSeeOther, back)
}

// whyReview opens a review case about the answer, as the customer: they
// contest it, or ask for a person to review how it was chosen. It opens it
// with the same store call as ReviewService.CreateReview; that method's
// other checks are checkPost's here (the id, the answer's owner) or do not
// concern a customer (the surfaces of the shop's systems). The store checks
// the kind and the message, and writes nothing when they are wrong.
func (s *Server) whyReview(c echo.Context) error {
	p, err := s.checkPost(c)
	if p == nil {
		return err
	}
	r := c.Request()
	ctx := r.Context()
	back := whyPath(p.id)
	kind := r.PostForm.Get("kind")
	// A browser sends a textarea's line breaks as CRLF; the case keeps
	// them as the API takes them, LF. (A lone CR stays, and is refused.)
	message := strings.ReplaceAll(r.PostForm.Get("message"), "\r\n", "\n")
	// The same request again (a double click, a second tab) while it is
	// pending is not a second case.
	cases, err := s.reviews.Customer(ctx, p.sess.customer)
	if err != nil {
		return s.whyFailed(c, err, back)
	}
	if !slices.ContainsFunc(cases, func(cs *explain.Case) bool {
		return cs.RecommendationID == p.answer.ID && reviewPending(cs.Status) && cs.Kind == kind && cs.Message == message
	}) {
		if _, err := s.reviews.Open(ctx, p.sess.customer, p.answer, kind, message, s.now()); err != nil {
			return s.whyFailed(c, err, back)
		}
	}
	s.setFlash(c, p.id, whyFlash{Action: "review"})
	return c.Redirect(http.StatusSeeOther, back)
}

// pageConsent records a customer's choice made on one of candor's pages
// (the why page, the privacy center) through the same store call as the
// ConsentService: method "ui", by the customer, under the notice version
// of their current decision for the purpose (the page's own name when
// there is none).
//
// While the request carries Sec-GPC: 1, a purpose GPC covers cannot be
// turned on from a page (errGPCKeepsOff): the next page view would turn it
// off again (pageGPC).
func (a *app) pageConsent(ctx context.Context, p features.Pseudonym, purpose consent.Purpose, granted, gpc bool, page string) error {
	if granted && gpc && consent.GPCPurposes.Has(purpose) {
		return errGPCKeepsOff
	}
	state, err := a.store.Consent(ctx, p)
	if err != nil {
		return err
	}
	notice := state.Decisions[purpose].NoticeVersion
	if notice == "" {
		notice = page
	}
	_, err = a.store.ApplyConsent(ctx, p, consent.Change{
		Choices:       []consent.Choice{{Purpose: purpose, Granted: granted}},
		NoticeVersion: notice,
		Method:        consent.MethodUI,
		ActorRole:     string(RoleCustomer),
		At:            a.now(),
	})
	return err
}

// whyFailed answers a failed control the way the API would: the caller's
// mistakes in the domain's words, anything else generic and logged here
// (without the request).
func (s *Server) whyFailed(c echo.Context, err error, back string) error {
	switch {
	case errors.Is(err, consent.ErrInvalid):
		return whyMessage(c, http.StatusBadRequest, whyMsg{Kind: "invalid", Detail: privacyDetail(err), Back: back})
	case errors.Is(err, features.ErrNotFound):
		return whyMessage(c, http.StatusNotFound, whyMsg{Kind: "gone", Back: back})
	case errors.Is(err, features.ErrConflict):
		return whyMessage(c, http.StatusConflict, whyMsg{Kind: "busy", Back: back})
	case errors.Is(err, errGPCKeepsOff):
		return whyMessage(c, http.StatusConflict, whyMsg{Kind: "gpc", Back: back})
	}
	s.log.ErrorContext(c.Request().Context(), "why page failed", "route", c.Path(), "err", err)
	return whyMessage(c, http.StatusInternalServerError, whyMsg{Kind: "error", Back: back})
}

// whyFlash is what the last control did, carried to the next page view in a
// short-lived cookie scoped to the page, sealed so it can be neither read
// nor forged.
type whyFlash struct {
	Action string `json:"a"` // set, remove, revoke, grant, review
	Kind   string `json:"k,omitempty"`
	Target string `json:"t,omitempty"`
}

func (s *Server) setFlash(c echo.Context, id string, f whyFlash) {
	s.setSealed(c, whyFlashCookie, whyPath(id), whyFlashAD, id, f, whyFlashTTL)
}

// takeFlash reads and deletes the status message's facts, if any.
func (s *Server) takeFlash(c echo.Context, id string) *whyFlash {
	var f whyFlash
	if !s.takeSealed(c, whyFlashCookie, whyPath(id), whyFlashAD, id, &f) {
		return nil
	}
	return &f
}

// setSealed keeps v (as JSON) in a short-lived cookie of the page at path,
// sealed under ad and bound to bind, so that it can be neither read nor
// forged, nor moved to another page.
func (s *Server) setSealed(c echo.Context, name, path, ad, bind string, v any, ttl time.Duration) {
	raw, err := json.Marshal(v)
	if err != nil {
		return
	}
	sealed := s.tokens.codec.Seal(raw, ad, bind)
	c.SetCookie(whyCookieOf(c.Request(), name, base64.RawURLEncoding.EncodeToString(sealed), path, int(ttl.Seconds())))
}

// openSealed reads a cookie setSealed wrote into v; false when there is
// none, or it is forged or unreadable.
func (s *Server) openSealed(c echo.Context, name, ad, bind string, v any) bool {
	cookie, err := c.Request().Cookie(name)
	if err != nil {
		return false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(cookie.Value)
	if err != nil {
		return false
	}
	raw, err := s.tokens.codec.Open(sealed, ad, bind)
	if err != nil {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}

// takeSealed is openSealed that also deletes the cookie, if any.
func (s *Server) takeSealed(c echo.Context, name, path, ad, bind string, v any) bool {
	if _, err := c.Request().Cookie(name); err != nil {
		return false
	}
	c.SetCookie(whyCookieOf(c.Request(), name, "", path, -1))
	return s.openSealed(c, name, ad, bind, v)
}
