package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRoutes(t *testing.T) {
	mux := http.NewServeMux()
	for pattern, h := range Routes() {
		mux.Handle(pattern, h)
	}
	// The API's catch-all sits beside the UI on the router's address.
	mux.Handle("/api/", http.NotFoundHandler())
	mux.Handle("POST /v1/messages", http.NotFoundHandler())
	tests := []struct {
		path     string
		status   int
		location string
		ctype    string
		contains string
	}{
		{"/", http.StatusFound, "/ui/overview", "", ""},
		{"/ui/", http.StatusOK, "", "text/html", `src="/ui/static/app.js"`},
		{"/ui/overview", http.StatusOK, "", "text/html", "<nav>"},
		{"/ui/messages?match=Type+%3D%3D+%22x%22", http.StatusOK, "", "text/html", "<nav>"},
		{"/ui/static/app.js", http.StatusOK, "", "javascript", "const PAGES"},
		{"/ui/static/app.css", http.StatusOK, "", "text/css", ":root"},
		{"/ui/static/uPlot.iife.min.js", http.StatusOK, "", "javascript", "uPlot"},
		{"/ui/static/uPlot.LICENSE", http.StatusOK, "", "", "MIT"},
		{"/ui/static/missing.js", http.StatusNotFound, "", "", ""},
		{"/nothing", http.StatusNotFound, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if loc := rec.Header().Get("Location"); loc != tt.location {
				t.Errorf("Location %q, want %q", loc, tt.location)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, tt.ctype) {
				t.Errorf("Content-Type %q, want it to contain %q", ct, tt.ctype)
			}
			if !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
		})
	}
}
