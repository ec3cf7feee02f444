//go:build !unix

package journal

import "os"

// lockFile is a no-op where flock(2) does not exist; the operator must make
// sure one journal directory is used by one process.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
