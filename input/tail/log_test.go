package tail

import (
	"io"
	"log/slog"
	"os"
)

// testLogger discards the input's log, or writes it at debug level to the
// file named by METLOG_TAIL_TEST_LOG, to follow what it did with each file.
func testLogger() *slog.Logger {
	if p := os.Getenv("METLOG_TAIL_TEST_LOG"); p != "" {
		f, _ := os.Create(p)
		return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
