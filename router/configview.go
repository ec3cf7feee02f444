package router

import (
	"encoding/json"
	"net/http"

	"github.com/metlog/metlog/config"
)

// EffectiveConfig is what /api/config reports: the configuration the router
// runs with.
type EffectiveConfig struct {
	// Path is the file it was loaded from; "" for the embedded default.
	Path string `json:"path"`
	// TOML is config.Config.Effective: every table with every key,
	// defaults filled in, secrets redacted. Plugins that failed to start
	// on a reload are not in it.
	TOML string `json:"toml"`
}

// configHandler serves cfg as an EffectiveConfig. The document is made
// once, when the routes are built, so a reload replaces it.
func configHandler(cfg *config.Config) http.HandlerFunc {
	doc, err := cfg.Effective()
	body, _ := json.Marshal(EffectiveConfig{Path: cfg.Path, TOML: string(doc)})
	if err != nil {
		body, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
		}
		w.Write(body)
	}
}
