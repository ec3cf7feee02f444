// Package testenv finds, for tests, what `make deps` installs: Node.js
// and the npm packages under testdeps/node_modules, beside the module's
// root. A test whose dependency is missing is skipped, saying how to get
// it; `make test` installs everything first, so in CI nothing is skipped.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ModuleRoot returns the directory holding the module's go.mod, found
// upwards from the test's working directory (its package's directory).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = parent
	}
}

// Node returns the path of the node binary.
func Node(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("SKIPPED: node is not installed (Debian package nodejs; `make deps` installs it)")
	}
	return node
}

// NodeModule returns the path of path under testdeps/node_modules, such
// as "statsd/bin/statsd" or "@duckdb/node-api".
func NodeModule(t testing.TB, path string) string {
	t.Helper()
	p := filepath.Join(ModuleRoot(t), "testdeps", "node_modules", filepath.FromSlash(path))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("SKIPPED: testdeps/node_modules/%s is missing (npm; `make deps` installs it)", path)
	}
	return p
}
