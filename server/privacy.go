package server

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/features"
)

// The privacy center: GET /privacy shows a customer everything candor holds
// about them and lets them exercise their rights there, with native forms
// and no JavaScript: view their data (and delete or correct one action),
// choose per purpose (one switch each; turning one off is one click, as
// turning it on), download all of it (the export document of the API),
// object to profiling, delete their account (after a confirmation step,
// with the erasure receipt shown), and read their review requests with
// the replies.
//
// It is the "why" page's kind of page and shares its mechanisms (web.go):
// the shop links to /privacy?token=ct_... with a customer token, which moves
// into a cookie of its own (HttpOnly, SameSite=Strict, Path=/privacy) before
// a redirect; every form carries the session's form token; requests another
// site started are refused; every response is no-store with the strict
// Content-Security-Policy; status messages travel in sealed cookies. Every
// action calls the same domain code as the API, as the customer.
//
// A request that carries "Sec-GPC: 1" records the Global Privacy Control's
// opt-out for the customer (applyGPC, as the API does) before it is served,
// except the account's deletion (as the API's erasure). While the browser
// sends it, the purposes it covers stay off: the page says so instead of
// offering to turn them on, and refuses to, since the very next request
// would turn them off again.

const (
	privacyPath          = "/privacy"
	privacyCookie        = "candor_privacy"         // the customer token
	privacyFlashCookie   = "candor_privacy_done"    // what the last action did
	privacyReceiptCookie = "candor_privacy_receipt" // the erasure receipt, after the account is gone
	privacyStylePath     = "/privacy/style.css"
	privacyDeletedPath   = "/privacy/deleted"
	privacyFlashAD       = "candor/privacy-flash"
	privacyReceiptAD     = "candor/privacy-receipt"
	// privacyReceiptTTL is how long the receipt page can be reloaded.
	privacyReceiptTTL = 30 * time.Minute
	// privacyNotice is the notice version recorded for a choice made here
	// when the purpose has none yet.
	privacyNotice = "privacy-center"
	// privacyMaxSignals bounds the actions listed on the page (the most
	// recent first); the download holds them all.
	privacyMaxSignals = 200
)

// privacyTemplates are parsed once, like whyTemplates.
var privacyTemplates = struct {
	page, confirm, receipt, message *template.Template
	css                             []byte
}{
	page:    parsePrivacy("privacy.html"),
	confirm: parsePrivacy("privacy_delete.html"),
	receipt: parsePrivacy("privacy_deleted.html"),
	message: parsePrivacy("privacy_message.html"),
	css:     mustRead(whyFS, "templates/privacy.css"),
}

func parsePrivacy(name string) *template.Template {
	return template.Must(template.ParseFS(whyFS, "templates/layout.html", "templates/privacy_common.html", "templates/"+name))
}

// registerPrivacy serves the privacy center under /privacy (whyHeaders
// covers it).
func (s *Server) registerPrivacy(e *echo.Echo) {
	e.GET(privacyStylePath, func(c echo.Context) error {
		return c.Blob(http.StatusOK, "text/css; charset=utf-8", privacyTemplates.css)
	})
	e.GET(privacyPath, s.privacyGet)
	e.GET(privacyPath+"/export", s.privacyExport, longExport) // the API's bound, not the write timeout
	e.POST(privacyPath+"/consent", s.privacyConsent)
	e.POST(privacyPath+"/signals", s.privacySignal)
	e.POST(privacyPath+"/object", s.privacyObject)
	e.GET(privacyPath+"/delete", s.privacyDeleteConfirm)
	e.POST(privacyPath+"/delete", s.privacyDelete)
	e.GET(privacyDeletedPath, s.privacyDeleted)
	// A GET of a form's address (a bookmark, a reload) goes to the page.
	back := func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, privacyPath) }
	e.GET(privacyPath+"/consent", back)
	e.GET(privacyPath+"/signals", back)
	e.GET(privacyPath+"/object", back)
	notFound := func(c echo.Context) error {
		return privacyMessage(c, http.StatusNotFound, privacyMsg{Kind: "not-found", Back: privacyPath})
	}
	e.RouteNotFound(privacyPath, notFound)
	e.RouteNotFound(privacyPath+"/*", notFound)
}

// privacyMsg is what templates/privacy_message.html renders.
type privacyMsg struct {
	Kind    string // which message (see privacy_message.html)
	Detail  string // for "invalid": what was wrong, in the domain's words
	Back    string // a link back to the privacy center
	Refresh string // for "continue": where to go at once
}

func privacyMessage(c echo.Context, code int, m privacyMsg) error {
	return renderPage(c, code, privacyTemplates.message, m)
}

func renderPage(c echo.Context, code int, t *template.Template, data any) error {
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		return err
	}
	return c.HTMLBlob(code, []byte(b.String()))
}

// privacyRefusal answers a refused form the way checkForm asks.
func privacyRefusal(c echo.Context) func(code int, kind string) error {
	return func(code int, kind string) error {
		m := privacyMsg{Kind: kind}
		if kind != "expired" {
			m.Back = privacyPath
		}
		return privacyMessage(c, code, m)
	}
}

// privacySession returns the session of a page request (not a form), after
// recording a GPC opt-out the request carries. A refused request gets its
// page here, and privacySession returns nil with the error of writing it.
func (s *Server) privacySession(c echo.Context, here string) (*whySession, error) {
	sess, found, ok := s.cookieSession(c, privacyCookie, privacyPath)
	if !found && startedElsewhere(c.Request()) {
		// A customer who followed the link from the shop arrives without
		// the SameSite=Strict cookie; a navigation of our own brings it.
		return nil, privacyMessage(c, http.StatusOK, privacyMsg{Kind: "continue", Refresh: here})
	}
	if !ok {
		return nil, privacyMessage(c, http.StatusUnauthorized, privacyMsg{Kind: "expired"})
	}
	if err := s.pageGPC(c, sess.customer); err != nil {
		return nil, s.privacyFailed(c, err)
	}
	return &sess, nil
}

// privacyForm checks a form's request (checkForm) and records a GPC opt-out
// it carries.
func (s *Server) privacyForm(c echo.Context) (*whySession, error) {
	sess, err := s.checkForm(c, privacyCookie, privacyPath, privacyRefusal(c))
	if sess == nil {
		return nil, err
	}
	if err := s.pageGPC(c, sess.customer); err != nil {
		return nil, s.privacyFailed(c, err)
	}
	return sess, nil
}

// privacyGet serves the page, or moves a link's token into the cookie.
func (s *Server) privacyGet(c echo.Context) error {
	r := c.Request()
	if q := r.URL.Query(); q.Has("token") {
		sess, ok := s.session(q.Get("token"))
		if !ok {
			return privacyMessage(c, http.StatusUnauthorized, privacyMsg{Kind: "expired"})
		}
		if err := s.pageGPC(c, sess.customer); err != nil {
			return s.privacyFailed(c, err)
		}
		s.startSession(c, privacyCookie, privacyPath, sess)
		return c.Redirect(http.StatusSeeOther, privacyPath)
	}
	sess, err := s.privacySession(c, privacyPath)
	if sess == nil {
		return err
	}
	in, err := s.privacyData(r.Context(), sess.customer)
	if err != nil {
		return s.privacyFailed(c, err)
	}
	in.CSRF = s.formToken(*sess)
	in.GPC = sendsGPC(r)
	in.Now = s.now()
	in.ExpiresIn = sess.expires.Sub(in.Now)
	var f privacyFlash
	if s.takeSealed(c, privacyFlashCookie, privacyPath, privacyFlashAD, in.CSRF, &f) {
		in.Flash = &f
	}
	return renderPage(c, http.StatusOK, privacyTemplates.page, buildPrivacyPage(in))
}

// privacyFlash is what the last action did, for the status message.
type privacyFlash struct {
	Action  string `json:"a"`           // grant, revoke, deleted, corrected, object
	Purpose string `json:"p,omitempty"` // grant, revoke: the purpose's API name
	Subject string `json:"s,omitempty"` // corrected: the action as it reads now
}

// privacyDone reports what an action did on the next page view, in a
// sealed cookie bound to the session (by its form token), so that no other
// session can show it.
func (s *Server) privacyDone(c echo.Context, sess *whySession, f privacyFlash) error {
	s.setSealed(c, privacyFlashCookie, privacyPath, privacyFlashAD, s.formToken(*sess), f, whyFlashTTL)
	return c.Redirect(http.StatusSeeOther, privacyPath)
}

// privacyConsent turns one purpose on or off, as the customer, through the
// same store call as the ConsentService (and the why page's consent form);
// the change goes to the consent ledger with method "ui".
func (s *Server) privacyConsent(c echo.Context) error {
	sess, err := s.privacyForm(c)
	if sess == nil {
		return err
	}
	r := c.Request()
	action := r.PostForm.Get("action")
	if action != "grant" && action != "revoke" {
		return privacyMessage(c, http.StatusBadRequest, privacyMsg{Kind: "invalid", Detail: "action: must be grant or revoke", Back: privacyPath})
	}
	purpose, err := consent.ParsePurpose("purpose", r.PostForm.Get("purpose"))
	if err != nil {
		return s.privacyFailed(c, err)
	}
	if err := s.pageConsent(r.Context(), sess.customer, purpose, action == "grant", sendsGPC(r), privacyNotice); err != nil {
		return s.privacyFailed(c, err)
	}
	return s.privacyDone(c, sess, privacyFlash{Action: action, Purpose: purpose.String()})
}

// privacySignal deletes or corrects one of the customer's signals, through
// the same app calls as RightsService.DeleteSignal and CorrectSignal.
func (s *Server) privacySignal(c echo.Context) error {
	sess, err := s.privacyForm(c)
	if sess == nil {
		return err
	}
	r := c.Request()
	ctx := r.Context()
	id := r.PostForm.Get("signal")
	switch r.PostForm.Get("action") {
	case "delete":
		deleted, err := s.deleteSignal(ctx, sess.customer, id, RoleCustomer)
		if err != nil {
			return s.privacyFailed(c, err)
		}
		if !deleted {
			return privacyMessage(c, http.StatusNotFound, privacyMsg{Kind: "gone", Back: privacyPath})
		}
		return s.privacyDone(c, sess, privacyFlash{Action: "deleted"})
	case "correct":
		correction, err := correctionOf(r)
		if err != nil {
			return s.privacyFailed(c, err)
		}
		sig, err := s.correctSignal(ctx, sess.customer, id, correction, RoleCustomer)
		if err != nil {
			return s.privacyFailed(c, err)
		}
		title := sig.ItemID
		if catalog, err := s.catalog.Current(ctx); err == nil {
			if it := catalog.Item(sig.ItemID); it != nil {
				title = it.Title
			}
		}
		return s.privacyDone(c, sess, privacyFlash{Action: "corrected", Subject: explain.SignalPhrase(sig.Type, title, sig.OccurredAt)})
	default:
		return privacyMessage(c, http.StatusBadRequest, privacyMsg{Kind: "invalid", Detail: "action: must be delete or correct", Back: privacyPath})
	}
}

// privacyTimeLayout is the value of a datetime-local field; the page shows
// and takes times in UTC.
const privacyTimeLayout = "2006-01-02T15:04"

// correctionOf reads a correction form: the item and the time as the page
// showed them (was_item, was_time) and as the customer left them; only what
// changed is corrected, so that a time shown to the minute does not move a
// signal by its seconds.
func correctionOf(r *http.Request) (features.Correction, error) {
	var c features.Correction
	item := strings.TrimSpace(r.PostForm.Get("item_id"))
	if item != "" && item != r.PostForm.Get("was_item") {
		c.ItemID = &item
	}
	at := strings.TrimSpace(r.PostForm.Get("occurred_at"))
	if at != "" && at != r.PostForm.Get("was_time") {
		t, err := parsePageTime(at)
		if err != nil {
			return c, err
		}
		c.OccurredAt = &t
	}
	if c.ItemID == nil && c.OccurredAt == nil {
		return c, invalidForm("nothing to correct: change the item or the time")
	}
	return c, nil
}

// parsePageTime reads a time as a datetime-local field (or a browser that
// shows a plain text field) sends it, in UTC.
func parsePageTime(s string) (time.Time, error) {
	for _, layout := range []string{privacyTimeLayout, "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, invalidForm("occurred_at: write the time as 2026-11-20T14:30 (UTC)")
}

func invalidForm(msg string) error { return fmt.Errorf("%w: %s", consent.ErrInvalid, msg) }

// privacyObject records the customer's objection to profiling, as
// RightsService.ObjectToProfiling does: personalisation and marketing
// emails are withdrawn, with method "objection".
func (s *Server) privacyObject(c echo.Context) error {
	sess, err := s.privacyForm(c)
	if sess == nil {
		return err
	}
	if _, err := s.objectToProfiling(c.Request().Context(), sess.customer, privacyNotice, RoleCustomer); err != nil {
		return s.privacyFailed(c, err)
	}
	return s.privacyDone(c, sess, privacyFlash{Action: "object"})
}

// privacyExport sends the export document, as a download.
func (s *Server) privacyExport(c echo.Context) error {
	sess, err := s.privacySession(c, privacyPath)
	if sess == nil {
		return err
	}
	started := false
	w := &exportWriter{send: func(b []byte) error {
		if !started {
			started = true
			h := c.Response().Header()
			h.Set("Content-Type", "application/json")
			h.Set("Content-Disposition", `attachment; filename="`+exportFilename+`"`)
			c.Response().WriteHeader(http.StatusOK)
		}
		_, err := c.Response().Write(b)
		return err
	}}
	// The API's export, under no customer id: the page knows the customer
	// only by the pseudonym their token carries.
	if err := s.exportOf(c.Request().Context(), sess.customer, "", w); err != nil {
		if !started {
			return s.privacyFailed(c, err)
		}
		// The document is cut; the browser reports a failed download.
		s.log.ErrorContext(c.Request().Context(), "privacy center: export failed", "route", c.Path(), "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// privacyDeleteConfirm is the confirmation step of deleting the account:
// what will be deleted, and a form that must be confirmed.
func (s *Server) privacyDeleteConfirm(c echo.Context) error {
	sess, err := s.privacySession(c, privacyPath+"/delete")
	if sess == nil {
		return err
	}
	return s.renderConfirm(c, http.StatusOK, *sess, false)
}

func (s *Server) renderConfirm(c echo.Context, code int, sess whySession, missing bool) error {
	held, err := s.store.Held(c.Request().Context(), sess.customer)
	if err != nil {
		return s.privacyFailed(c, err)
	}
	return renderPage(c, code, privacyTemplates.confirm, privacyConfirm{
		CSRF: s.formToken(sess), Missing: missing, Held: orderedCounts(held.Counts()),
	})
}

// privacyDelete erases the account, as RightsService.EraseCustomer does
// (app.erase), once confirmed; then the session ends and the receipt is
// shown. As for the API's erasure, a GPC signal is not applied first
// (gpcMoot): it would write an opt-out only to delete it.
func (s *Server) privacyDelete(c echo.Context) error {
	sess, err := s.checkForm(c, privacyCookie, privacyPath, privacyRefusal(c))
	if sess == nil {
		return err
	}
	r := c.Request()
	if r.PostForm.Get("confirm") != "yes" {
		return s.renderConfirm(c, http.StatusBadRequest, *sess, true)
	}
	receipt, err := s.erase(r.Context(), sess.customer)
	if err != nil {
		return s.privacyFailed(c, err)
	}
	s.setSealed(c, privacyReceiptCookie, privacyDeletedPath, privacyReceiptAD, "",
		privacyReceiptFacts{Receipt: receipt, Pending: s.modelPending(receipt)}, privacyReceiptTTL)
	// The session ends here, on both pages.
	c.SetCookie(whyCookieOf(r, privacyCookie, "", privacyPath, -1))
	c.SetCookie(whyCookieOf(r, whyCookie, "", whyCookiePath, -1))
	return c.Redirect(http.StatusSeeOther, privacyDeletedPath)
}

// privacyReceiptFacts are the receipt page's facts, kept in a sealed cookie
// (the account, and with it the session, is gone). A receipt names no one.
type privacyReceiptFacts struct {
	Receipt features.Receipt `json:"r"`
	Pending bool             `json:"p"`
}

// privacyDeleted shows the erasure receipt.
func (s *Server) privacyDeleted(c echo.Context) error {
	var f privacyReceiptFacts
	if !s.openSealed(c, privacyReceiptCookie, privacyReceiptAD, "", &f) {
		return privacyMessage(c, http.StatusNotFound, privacyMsg{Kind: "no-receipt"})
	}
	return renderPage(c, http.StatusOK, privacyTemplates.receipt, buildReceipt(f))
}

// privacyFailed answers a failed action the way the API would: the
// caller's mistakes in the domain's words, anything else generic and
// logged here (without the request).
func (s *Server) privacyFailed(c echo.Context, err error) error {
	switch {
	case errors.Is(err, consent.ErrInvalid):
		return privacyMessage(c, http.StatusBadRequest, privacyMsg{Kind: "invalid", Detail: privacyDetail(err), Back: privacyPath})
	case errors.Is(err, features.ErrNotFound):
		return privacyMessage(c, http.StatusNotFound, privacyMsg{Kind: "gone", Back: privacyPath})
	case errors.Is(err, features.ErrConflict):
		return privacyMessage(c, http.StatusConflict, privacyMsg{Kind: "busy", Back: privacyPath})
	case errors.Is(err, errGPCKeepsOff):
		return privacyMessage(c, http.StatusConflict, privacyMsg{Kind: "gpc", Back: privacyPath})
	}
	s.log.ErrorContext(c.Request().Context(), "privacy center failed", "route", c.Path(), "err", err)
	return privacyMessage(c, http.StatusInternalServerError, privacyMsg{Kind: "error", Back: privacyPath})
}

// privacyDetail is an invalid input's message without the sentinel's
// words.
func privacyDetail(err error) string {
	msg := callerMessage(err)
	msg = strings.TrimPrefix(msg, consent.ErrInvalid.Error())
	return strings.TrimLeft(msg, ": \n")
}
