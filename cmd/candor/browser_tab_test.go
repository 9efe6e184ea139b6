package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserTab runs a browser test's steps in one Chromium tab, each bounded
// in time and failing the test with what it was doing.
type browserTab struct {
	t   *testing.T
	ctx context.Context
}

// browserStepTimeout bounds each step.
const browserStepTimeout = 30 * time.Second

// step runs actions.
func (b browserTab) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// evaluate returns the string a script evaluates to.
func (b browserTab) evaluate(what, js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// click runs actions that navigate, and waits for the page they load,
// which must answer 200, and for its first rendering update.
//
// The load event is not enough for a test that reads the focus. The browser
// moves the focus to an autofocus element (the status message of the /why
// and /privacy pages) only in a rendering update ("flush autofocus
// candidates" in the event loop of the HTML standard), and the first one can
// come after the load event. An animation frame callback runs in that same
// update, after the focus has moved, so once one has run the focus is where
// the page puts it.
func (b browserTab) click(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	b.load(ctx, what, actions...)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](renderedJS, chromedp.EvalAwaitPromise)); err != nil {
		b.t.Fatalf("%s: waiting for the page to render: %v", what, err)
	}
}

// renderedJS resolves in the page's next rendering update.
const renderedJS = `new Promise(resolve => requestAnimationFrame(() => resolve(true)))`

// follow runs actions that follow the shop's link, and waits for the page
// they load, which must answer 200. That page is the step that opens the
// customer's page: it moves on at once by itself (a meta refresh), so follow
// does not wait for it to render (the next navigation would end that wait).
// The caller waits for the customer's page.
func (b browserTab) follow(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	b.load(ctx, what, actions...)
}

// load runs actions that navigate, and waits for the load event of the page
// they load, which must answer 200.
func (b browserTab) load(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if resp.Status != http.StatusOK {
		b.t.Fatalf("%s: status %d", what, resp.Status)
	}
}
