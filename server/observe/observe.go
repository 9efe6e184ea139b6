// Package observe is what every door of candor reports about each request,
// in one place: a counter and a latency histogram, and one structured log
// line ("call"), for the API (gRPC and REST, by method) and for the pages
// (by route template). Labels and log fields come only from small fixed
// sets: a method of the API or a route template, never a raw path, a
// customer, a key or a request.
package observe

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the request metrics of every door.
type Metrics struct {
	log         *slog.Logger
	apiCalls    *prometheus.CounterVec
	apiDuration *prometheus.HistogramVec
	pages       *prometheus.CounterVec
	pageTime    *prometheus.HistogramVec
}

var buckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// New registers the metrics on reg (nil: kept private) and logs to log.
func New(reg prometheus.Registerer, log *slog.Logger) *Metrics {
	m := &Metrics{
		log: log,
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "candor_grpc_requests_total",
			Help: "API calls (gRPC and REST) by method and status code.",
		}, []string{"method", "code"}),
		apiDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "candor_grpc_request_duration_seconds", Help: "API call latency by method.", Buckets: buckets,
		}, []string{"method"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "candor_page_requests_total",
			Help: "Requests to the customer's pages (why page, privacy center) by route template and status code.",
		}, []string{"route", "code"}),
		pageTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "candor_page_request_duration_seconds", Help: "Page request latency by route template.", Buckets: buckets,
		}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.apiCalls, m.apiDuration, m.pages, m.pageTime)
	}
	return m
}

// Outcome is how a request ended, as a door reports it.
type Outcome struct {
	// Code is the status: a gRPC code's name for the API, the HTTP status
	// for a page.
	Code string
	// Failed is true for a failure of ours (Internal, a 5xx).
	Failed bool
	// Quiet requests are counted, not logged (health checks, reflection).
	Quiet bool
}

// APICall records one API call of method (a known method, or "other").
func (m *Metrics) APICall(ctx context.Context, method string, o Outcome, elapsed time.Duration) {
	m.apiCalls.WithLabelValues(method, o.Code).Inc()
	m.apiDuration.WithLabelValues(method).Observe(elapsed.Seconds())
	m.logCall(ctx, "method", method, o, elapsed)
}

// Page records one page request of route (the router's template, such as
// "GET /why/:id").
func (m *Metrics) Page(ctx context.Context, route string, o Outcome, elapsed time.Duration) {
	m.pages.WithLabelValues(route, o.Code).Inc()
	m.pageTime.WithLabelValues(route).Observe(elapsed.Seconds())
	m.logCall(ctx, "route", route, o, elapsed)
}

func (m *Metrics) logCall(ctx context.Context, what, name string, o Outcome, elapsed time.Duration) {
	if o.Quiet {
		return
	}
	level := slog.LevelInfo
	if o.Failed {
		level = slog.LevelError
	}
	m.log.Log(ctx, level, "call", what, name, "code", o.Code, "duration_ms", float64(elapsed.Microseconds())/1000)
}
