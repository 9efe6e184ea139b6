package web

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
)

// The privacy center: GET /privacy shows a customer everything candor holds
// about them and lets them exercise their rights there, with native forms
// and no JavaScript: view their data (and delete or correct one action),
// choose per purpose (one switch each; turning one off is one click, as
// turning it on), download all of it (the export document of the API),
// object to profiling, delete their account (after a confirmation step,
// with the erasure receipt shown), and read their review requests with
// the replies. Every action is the API's use case, run as the customer.
//
// It is the why page's kind of page and shares its mechanisms (pages.go):
// the shop links to /privacy?token=ct_..., the token moves into a cookie of
// its own (Path=/privacy); every form carries the session's form token;
// requests another site started are refused; status messages travel in
// sealed cookies.
//
// A request that carries "Sec-GPC: 1" records the Global Privacy Control's
// opt-out for the customer, as the API does (the core applies it), except
// the account's deletion and its confirmation step (as the API's erasure).
// While the browser sends it, a purpose it keeps off is turned on only
// after a confirmation step that says so.

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
	css:     mustRead(pagesFS, "templates/privacy.css"),
}

func parsePrivacy(name string) *template.Template {
	return template.Must(template.ParseFS(pagesFS, "templates/layout.html", "templates/privacy_common.html", "templates/"+name))
}

// registerPrivacy serves the privacy center under /privacy.
func (p *Pages) registerPrivacy(e *echo.Echo) {
	e.GET(privacyStylePath, func(c echo.Context) error {
		return c.Blob(http.StatusOK, "text/css; charset=utf-8", privacyTemplates.css)
	})
	e.GET(privacyPath, p.privacyGet)
	e.GET(privacyPath+"/export", p.privacyExport)
	e.POST(privacyPath+"/consent", p.privacyConsent)
	e.POST(privacyPath+"/signals", p.privacySignal)
	e.POST(privacyPath+"/object", p.privacyObject)
	e.GET(privacyPath+"/delete", p.privacyDeleteConfirm)
	e.POST(privacyPath+"/delete", p.privacyDelete)
	e.GET(privacyDeletedPath, p.privacyDeleted)
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
	// Confirm, for "gpc": the form that turns the purpose on anyway.
	Confirm *confirmForm
}

func privacyMessage(c echo.Context, code int, m privacyMsg) error {
	return renderPage(c, code, privacyTemplates.message, m)
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

// privacySession returns the session of a page request (not a form). A
// refused request gets its page here, and privacySession returns nil with
// the error of writing it.
func (p *Pages) privacySession(c echo.Context, here string) (*app.Session, error) {
	sess, found, ok := p.cookieSession(c, privacyCookie, privacyPath)
	if !found && startedElsewhere(c.Request()) {
		// A customer who followed the link from the shop arrives without
		// the SameSite=Strict cookie; a navigation of our own brings it.
		return nil, privacyMessage(c, http.StatusOK, privacyMsg{Kind: "continue", Refresh: here})
	}
	if !ok {
		return nil, privacyMessage(c, http.StatusUnauthorized, privacyMsg{Kind: "expired"})
	}
	return &sess, nil
}

// privacyForm checks a form's request (checkForm).
func (p *Pages) privacyForm(c echo.Context) (*app.Session, error) {
	return p.checkForm(c, privacyCookie, privacyPath, privacyRefusal(c))
}

// privacyGet serves the page, or moves a link's token into the cookie.
func (p *Pages) privacyGet(c echo.Context) error {
	r := c.Request()
	if q := r.URL.Query(); q.Has("token") {
		sess, ok := p.session(q.Get("token"))
		if !ok {
			return privacyMessage(c, http.StatusUnauthorized, privacyMsg{Kind: "expired"})
		}
		if err := p.core.HonourGPC(r.Context(), actor(c, &sess)); err != nil {
			return p.privacyFailed(c, err)
		}
		p.startSession(c, privacyCookie, privacyPath, sess)
		return c.Redirect(http.StatusSeeOther, privacyPath)
	}
	sess, err := p.privacySession(c, privacyPath)
	if sess == nil {
		return err
	}
	data, err := p.core.ViewHeldData(r.Context(), actor(c, sess))
	if err != nil {
		return p.privacyFailed(c, err)
	}
	in := &privacyInput{HeldData: data, CSRF: p.formToken(*sess), GPC: sendsGPC(r), Now: p.core.Now()}
	in.ExpiresIn = sess.Expires.Sub(in.Now)
	var f privacyFlash
	if p.takeSealed(c, privacyFlashCookie, privacyPath, privacyFlashAD, in.CSRF, &f) {
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
func (p *Pages) privacyDone(c echo.Context, sess *app.Session, f privacyFlash) error {
	p.setSealed(c, privacyFlashCookie, privacyPath, privacyFlashAD, p.formToken(*sess), f, flashTTL)
	return c.Redirect(http.StatusSeeOther, privacyPath)
}

// privacyConsent turns one purpose on or off, as the customer
// (app.ChooseOnPage, as the why page's consent form); the change goes to
// the consent ledger with method "ui" and the configured notice version.
func (p *Pages) privacyConsent(c echo.Context) error {
	sess, err := p.privacyForm(c)
	if sess == nil {
		return err
	}
	r := c.Request()
	action := r.PostForm.Get("action")
	if action != "grant" && action != "revoke" {
		return privacyMessage(c, http.StatusBadRequest, privacyMsg{Kind: "invalid", Detail: "action: must be grant or revoke", Back: privacyPath})
	}
	purpose := r.PostForm.Get("purpose")
	choice := app.PageChoice{Purpose: purpose, Granted: action == "grant", DeleteData: deleteData(r), ConfirmOverGPC: confirmedOverGPC(r)}
	if _, err := p.core.ChooseOnPage(r.Context(), actor(c, sess), choice); err != nil {
		if errors.Is(err, app.ErrGPCConflict) {
			return privacyMessage(c, http.StatusConflict, privacyMsg{Kind: "gpc", Back: privacyPath, Confirm: &confirmForm{
				Path: privacyPath + "/consent", CSRF: p.formToken(*sess), Purpose: purpose,
			}})
		}
		return p.privacyFailed(c, err)
	}
	done := privacyFlash{Action: action, Purpose: purpose}
	if choice.DeleteData && !choice.Granted {
		done.Action = "revoke-deleted"
	}
	return p.privacyDone(c, sess, done)
}

// privacySignal deletes or corrects one of the customer's signals
// (RightsService.DeleteSignal and CorrectSignal).
func (p *Pages) privacySignal(c echo.Context) error {
	sess, err := p.privacyForm(c)
	if sess == nil {
		return err
	}
	r := c.Request()
	ctx := r.Context()
	who := actor(c, sess)
	id := r.PostForm.Get("signal")
	switch r.PostForm.Get("action") {
	case "delete":
		deleted, err := p.core.DeleteSignal(ctx, who, "", id)
		if err != nil {
			return p.privacyFailed(c, err)
		}
		if !deleted {
			return privacyMessage(c, http.StatusNotFound, privacyMsg{Kind: "gone", Back: privacyPath})
		}
		return p.privacyDone(c, sess, privacyFlash{Action: "deleted"})
	case "correct":
		correction, err := correctionOf(r)
		if err != nil {
			return p.privacyFailed(c, err)
		}
		sig, err := p.core.CorrectSignal(ctx, who, "", id, correction)
		if err != nil {
			return p.privacyFailed(c, err)
		}
		return p.privacyDone(c, sess, privacyFlash{Action: "corrected", Subject: p.core.SignalPhrase(ctx, sig)})
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
		return c, fault.Invalidf("nothing to correct: change the item or the time")
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
	return time.Time{}, fault.Invalidf("occurred_at: write the time as 2026-11-20T14:30 (UTC)")
}

// privacyObject records the customer's objection to profiling
// (RightsService.ObjectToProfiling): personalisation and marketing emails
// withdrawn, with method "objection".
func (p *Pages) privacyObject(c echo.Context) error {
	sess, err := p.privacyForm(c)
	if sess == nil {
		return err
	}
	if _, err := p.core.ObjectOnPage(c.Request().Context(), actor(c, sess)); err != nil {
		return p.privacyFailed(c, err)
	}
	return p.privacyDone(c, sess, privacyFlash{Action: "object"})
}

// privacyExport sends the export document (RightsService.ExportCustomerData),
// as a download. Its response may take longer than the server's write
// timeout, up to the API's bound for the export.
func (p *Pages) privacyExport(c echo.Context) error {
	sess, err := p.privacySession(c, privacyPath)
	if sess == nil {
		return err
	}
	if p.opts.ExportTimeout > 0 {
		_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Now().Add(p.opts.ExportTimeout))
	}
	started, err := p.core.Export(c.Request().Context(), actor(c, sess), "", func(b []byte) error {
		if !c.Response().Committed {
			h := c.Response().Header()
			h.Set("Content-Type", "application/json")
			h.Set("Content-Disposition", `attachment; filename="`+app.ExportFilename+`"`)
			c.Response().WriteHeader(http.StatusOK)
		}
		_, err := c.Response().Write(b)
		return err
	})
	if err != nil {
		if !started {
			return p.privacyFailed(c, err)
		}
		// The document is cut; the browser reports a failed download.
		p.log.ErrorContext(c.Request().Context(), "privacy center: export failed", "route", c.Path(), "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// privacyDeleteConfirm is the confirmation step of deleting the account:
// what will be deleted, and a form that must be confirmed.
func (p *Pages) privacyDeleteConfirm(c echo.Context) error {
	sess, err := p.privacySession(c, privacyPath+"/delete")
	if sess == nil {
		return err
	}
	return p.renderConfirm(c, http.StatusOK, *sess, false)
}

func (p *Pages) renderConfirm(c echo.Context, code int, sess app.Session, missing bool) error {
	held, err := p.core.HeldCounts(c.Request().Context(), actor(c, &sess))
	if err != nil {
		return p.privacyFailed(c, err)
	}
	return renderPage(c, code, privacyTemplates.confirm, privacyConfirm{
		CSRF: p.formToken(sess), Missing: missing, Held: orderedCounts(held.Counts()),
	})
}

// privacyDelete erases the account (RightsService.EraseCustomer) once
// confirmed; then the session ends and the receipt is shown.
func (p *Pages) privacyDelete(c echo.Context) error {
	sess, err := p.privacyForm(c)
	if sess == nil {
		return err
	}
	r := c.Request()
	if r.PostForm.Get("confirm") != "yes" {
		return p.renderConfirm(c, http.StatusBadRequest, *sess, true)
	}
	receipt, err := p.core.EraseCustomer(r.Context(), actor(c, sess), "")
	if err != nil {
		return p.privacyFailed(c, err)
	}
	p.setSealed(c, privacyReceiptCookie, privacyDeletedPath, privacyReceiptAD, "",
		privacyReceiptFacts{Receipt: receipt.Receipt, Pending: receipt.ModelPending}, privacyReceiptTTL)
	// The session ends here, on both pages.
	c.SetCookie(cookieOf(r, privacyCookie, "", privacyPath, -1))
	c.SetCookie(cookieOf(r, whyCookie, "", whyRoot, -1))
	return c.Redirect(http.StatusSeeOther, privacyDeletedPath)
}

// privacyReceiptFacts are the receipt page's facts, kept in a sealed cookie
// (the account, and with it the session, is gone). A receipt names no one.
type privacyReceiptFacts struct {
	Receipt features.Receipt `json:"r"`
	Pending bool             `json:"p"`
}

// privacyDeleted shows the erasure receipt.
func (p *Pages) privacyDeleted(c echo.Context) error {
	var f privacyReceiptFacts
	if !p.openSealed(c, privacyReceiptCookie, privacyReceiptAD, "", &f) {
		return privacyMessage(c, http.StatusNotFound, privacyMsg{Kind: "no-receipt"})
	}
	return renderPage(c, http.StatusOK, privacyTemplates.receipt, buildReceipt(f))
}

// privacyFailed answers a failed action the way the API would (failureOf).
func (p *Pages) privacyFailed(c echo.Context, err error) error {
	f := failureOf(err)
	p.logFailure(c, f, err)
	return privacyMessage(c, f.status, privacyMsg{Kind: f.kind, Detail: f.detail, Back: privacyPath})
}
