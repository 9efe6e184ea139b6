package web

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/explain"
)

// The "why am I seeing this" page: GET /why/{recommendation_id} renders one
// stored answer with its explanations and a native form for every control;
// the forms post back under the same path and run the same use cases as the
// API, as the customer. Near its end the customer can ask a person to look
// at the answer (a review case, as ReviewService.CreateReview opens); the
// reply reaches them in the privacy center.

// whyTemplates are parsed once; a template error fails every test of the
// package, so it never reaches a running server.
var whyTemplates = struct {
	page, message *template.Template
	css           []byte
}{
	page:    template.Must(template.ParseFS(pagesFS, "templates/layout.html", "templates/why.html")),
	message: template.Must(template.ParseFS(pagesFS, "templates/layout.html", "templates/message.html")),
	css:     mustRead(pagesFS, "templates/why.css"),
}

const (
	whyRoot        = "/why"
	whyCookie      = "candor_why"      // the customer token
	whyFlashCookie = "candor_why_done" // what the last control did, for the status message
	whyStylePath   = "/why/style.css"
	whyFlashAD     = "candor/why-flash" // seals the status message's facts
)

// registerWhy serves the page under /why.
func (p *Pages) registerWhy(e *echo.Echo) {
	e.GET(whyStylePath, func(c echo.Context) error {
		return c.Blob(http.StatusOK, "text/css; charset=utf-8", whyTemplates.css)
	})
	e.GET("/why/:id", p.whyGet)
	e.POST("/why/:id/controls", p.whyControl)
	e.POST("/why/:id/consent", p.whyConsent)
	e.POST("/why/:id/review", p.whyReview)
	// A GET of a form's address (a bookmark, a reload) goes to the page.
	e.GET("/why/:id/controls", whyBackToPage)
	e.GET("/why/:id/consent", whyBackToPage)
	e.GET("/why/:id/review", whyBackToPage)
	notFound := func(c echo.Context) error { return whyMessage(c, http.StatusNotFound, whyMsg{Kind: "not-found"}) }
	e.RouteNotFound(whyRoot, notFound)
	e.RouteNotFound(whyRoot+"/*", notFound)
}

func whyBackToPage(c echo.Context) error {
	if !explain.ValidID(c.Param("id")) {
		return whyMessage(c, http.StatusBadRequest, whyMsg{Kind: "bad-link"})
	}
	return c.Redirect(http.StatusSeeOther, whyPath(c.Param("id")))
}

func whyPath(id string) string { return whyRoot + "/" + id }

// whyMsg is what templates/message.html renders.
type whyMsg struct {
	Kind    string // which message (see message.html)
	Detail  string // for "invalid": what was wrong, in the domain's words
	Back    string // a link back to the page, after a failed control
	Refresh string // for "continue": where to go at once
	// Confirm, for "gpc": the form that turns the purpose on anyway.
	Confirm *confirmForm
	// Purpose, for "erased": the purpose whose data was deleted (API name).
	Purpose string
}

// confirmForm asks the customer to confirm a grant over their browser's
// Global Privacy Control.
type confirmForm struct {
	Path, CSRF, Purpose string
}

func whyMessage(c echo.Context, code int, m whyMsg) error {
	return renderPage(c, code, whyTemplates.message, m)
}

// whyGet serves the page, or moves a link's token into the cookie.
func (p *Pages) whyGet(c echo.Context) error {
	id := c.Param("id")
	if !explain.ValidID(id) {
		return whyMessage(c, http.StatusBadRequest, whyMsg{Kind: "bad-link"})
	}
	r := c.Request()
	if q := r.URL.Query(); q.Has("token") {
		sess, ok := p.session(q.Get("token"))
		if !ok {
			return whyMessage(c, http.StatusUnauthorized, whyMsg{Kind: "expired"})
		}
		p.startSession(c, whyCookie, whyRoot, sess)
		return c.Redirect(http.StatusSeeOther, whyPath(id))
	}
	sess, found, ok := p.cookieSession(c, whyCookie, whyRoot)
	if !found && startedElsewhere(r) {
		return whyMessage(c, http.StatusOK, whyMsg{Kind: "continue", Refresh: whyPath(id)})
	}
	if !ok {
		return whyMessage(c, http.StatusUnauthorized, whyMsg{Kind: "expired"})
	}
	v, err := p.core.ViewAnswer(r.Context(), actor(c, &sess), id)
	if err != nil {
		return p.whyAnswerFailed(c, err, "")
	}
	page := buildWhyPage(whyPageInput{
		Answer: v.Answer, View: v.View, Cases: v.Cases, CSRF: p.formToken(sess), Flash: p.takeFlash(c, id),
		Ranking: v.Ranking, ExpiresIn: sess.Expires.Sub(p.core.Now()),
	})
	var b strings.Builder
	if err := whyTemplates.page.ExecuteTemplate(&b, "layout", page); err != nil {
		return p.whyFailed(c, err, "")
	}
	return c.HTMLBlob(http.StatusOK, []byte(b.String()))
}

// whyAnswerFailed answers a stored answer that cannot be shown: gone (404),
// someone else's (403), or a failure (with a link back, when there is a
// page to go back to).
func (p *Pages) whyAnswerFailed(c echo.Context, err error, back string) error {
	f := failureOf(err)
	switch f.kind {
	case "gone":
		return whyMessage(c, http.StatusNotFound, whyMsg{Kind: "not-found"})
	case "forbidden":
		return whyMessage(c, http.StatusForbidden, whyMsg{Kind: "forbidden"})
	}
	return p.whyFailed(c, err, back)
}

// whyPost is a control's request that passed every check.
type whyPost struct {
	id     string
	sess   app.Session
	who    app.Actor
	answer *explain.Answer
}

// checkPost checks a control's request: the id, who started it, the cookie,
// the form token and the answer's owner, in that order, before anything is
// written. A refused request gets its page here, and checkPost returns nil
// with the error of writing that page.
func (p *Pages) checkPost(c echo.Context) (*whyPost, error) {
	id := c.Param("id")
	if !explain.ValidID(id) {
		return nil, whyMessage(c, http.StatusBadRequest, whyMsg{Kind: "bad-link"})
	}
	back := whyPath(id)
	sess, err := p.checkForm(c, whyCookie, whyRoot, func(code int, kind string) error {
		m := whyMsg{Kind: kind}
		if kind != "expired" {
			m.Back = back
		}
		return whyMessage(c, code, m)
	})
	if sess == nil {
		return nil, err
	}
	who := actor(c, sess)
	answer, err := p.core.GetRecommendation(c.Request().Context(), who, id)
	if err != nil {
		return nil, p.whyAnswerFailed(c, err, back)
	}
	return &whyPost{id: id, sess: *sess, who: who, answer: answer}, nil
}

// whyControl sets or removes one control, as the customer: the use cases
// of ControlService.
func (p *Pages) whyControl(c echo.Context) error {
	post, err := p.checkPost(c)
	if post == nil {
		return err
	}
	r := c.Request()
	back := whyPath(post.id)
	change := app.ControlChange{Kind: r.PostForm.Get("kind"), Target: r.PostForm.Get("target")}
	action := r.PostForm.Get("action")
	switch action {
	case "set":
		_, err = p.core.SetControl(r.Context(), post.who, "", change)
	case "remove":
		_, err = p.core.RemoveControl(r.Context(), post.who, "", change)
	default:
		return whyMessage(c, http.StatusBadRequest, whyMsg{Kind: "invalid", Detail: "action: must be set or remove", Back: back})
	}
	if err != nil {
		return p.whyFailed(c, err, back)
	}
	p.setFlash(c, post.id, whyFlash{Action: action, Kind: change.Kind, Target: change.Target})
	return c.Redirect(http.StatusSeeOther, back)
}

// whyConsent withdraws (or gives again) the consent for the answer's
// purpose, as the customer: ConsentService.UpdateConsents with method "ui"
// and the configured notice version (app.ChooseOnPage). A grant the
// browser's Global Privacy Control keeps off is refused with a confirm
// step; the confirmation posts again with confirm_over_gpc=yes.
func (p *Pages) whyConsent(c echo.Context) error {
	post, err := p.checkPost(c)
	if post == nil {
		return err
	}
	r := c.Request()
	back := whyPath(post.id)
	action := r.PostForm.Get("action")
	if action != "revoke" && action != "grant" {
		return whyMessage(c, http.StatusBadRequest, whyMsg{Kind: "invalid", Detail: "action: must be revoke or grant", Back: back})
	}
	purpose := post.answer.Purpose.String()
	choice := app.PageChoice{Purpose: purpose, Granted: action == "grant", DeleteData: deleteData(r), ConfirmOverGPC: confirmedOverGPC(r)}
	if _, err := p.core.ChooseOnPage(r.Context(), post.who, choice); err != nil {
		if errors.Is(err, app.ErrGPCConflict) {
			return whyMessage(c, http.StatusConflict, whyMsg{Kind: "gpc", Back: back, Confirm: &confirmForm{
				Path: back + "/consent", CSRF: p.formToken(post.sess), Purpose: purpose,
			}})
		}
		return p.whyFailed(c, err, back)
	}
	if choice.DeleteData && !choice.Granted {
		// The answer this page shows was made for the purpose, so it went
		// with the data: there is no page to go back to.
		return whyMessage(c, http.StatusOK, whyMsg{Kind: "erased", Purpose: purpose})
	}
	p.setFlash(c, post.id, whyFlash{Action: action})
	return c.Redirect(http.StatusSeeOther, back)
}

// confirmedOverGPC reports whether a consent form confirms a grant over
// the browser's Global Privacy Control.
func confirmedOverGPC(r *http.Request) bool { return r.PostForm.Get("confirm_over_gpc") == "yes" }

// deleteData reports whether a consent form asks, with the revocation, that
// the data collected for the purpose be deleted.
func deleteData(r *http.Request) bool { return r.PostForm.Get("delete_data") == "yes" }

// whyReview opens a review case about the answer, as the customer: they
// contest it, or ask for a person to review how it was chosen
// (ReviewService.CreateReview). A second request while one of the same
// kind is pending is refused (409), as over the API.
func (p *Pages) whyReview(c echo.Context) error {
	post, err := p.checkPost(c)
	if post == nil {
		return err
	}
	r := c.Request()
	back := whyPath(post.id)
	// A browser sends a textarea's line breaks as CRLF; the case keeps
	// them as the API takes them, LF. (A lone CR stays, and is refused.)
	message := strings.ReplaceAll(r.PostForm.Get("message"), "\r\n", "\n")
	if _, err := p.core.CreateReview(r.Context(), post.who, post.id, r.PostForm.Get("kind"), message); err != nil {
		return p.whyFailed(c, err, back)
	}
	p.setFlash(c, post.id, whyFlash{Action: "review"})
	return c.Redirect(http.StatusSeeOther, back)
}

// whyFailed answers a failed control the way the API would (failureOf): the
// caller's mistakes in the domain's words, anything else generic and
// logged (without the request).
func (p *Pages) whyFailed(c echo.Context, err error, back string) error {
	f := failureOf(err)
	p.logFailure(c, f, err)
	return whyMessage(c, f.status, whyMsg{Kind: f.kind, Detail: f.detail, Back: back})
}

// whyFlash is what the last control did, carried to the next page view in a
// short-lived cookie scoped to the page, sealed so it can be neither read
// nor forged.
type whyFlash struct {
	Action string `json:"a"` // set, remove, revoke, grant, review
	Kind   string `json:"k,omitempty"`
	Target string `json:"t,omitempty"`
}

func (p *Pages) setFlash(c echo.Context, id string, f whyFlash) {
	p.setSealed(c, whyFlashCookie, whyPath(id), whyFlashAD, id, f, flashTTL)
}

// takeFlash reads and deletes the status message's facts, if any.
func (p *Pages) takeFlash(c echo.Context, id string) *whyFlash {
	var f whyFlash
	if !p.takeSealed(c, whyFlashCookie, whyPath(id), whyFlashAD, id, &f) {
		return nil
	}
	return &f
}
