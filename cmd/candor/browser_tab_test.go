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
// which must answer 200.
func (b browserTab) click(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if resp.Status != http.StatusOK {
		b.t.Fatalf("%s: status %d", what, resp.Status)
	}
}
