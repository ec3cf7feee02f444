// Package ui is metlog's web UI: a small single-page application whose
// HTML, script, style and charting library (uPlot, MIT, vendored with its
// licence) are embedded in the binary, so the router serves it offline.
//
// The pages live under /ui/ (overview, messages, metrics, exceptions,
// router); every page path answers the same shell and the script renders
// the page from the URL, so a URL with its query can be shared. Files
// under /ui/static/ are the embedded assets. GET / redirects to the
// overview.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// Routes returns the UI's handlers by ServeMux pattern, to be mounted
// beside the JSON API.
func Routes() map[string]http.Handler {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	shell, err := fs.ReadFile(static, "index.html")
	if err != nil {
		panic(err)
	}
	assets := http.StripPrefix("/ui/static/", http.FileServerFS(static))
	return map[string]http.Handler{
		"GET /{$}": http.RedirectHandler("/ui/overview", http.StatusFound),
		"GET /ui/static/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The assets change only with the binary; a short cache
			// keeps reloads fast without serving stale script after
			// an upgrade for long.
			w.Header().Set("Cache-Control", "public, max-age=300")
			assets.ServeHTTP(w, r)
		}),
		"GET /ui/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write(shell)
		}),
	}
}
