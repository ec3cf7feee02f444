package output

import "errors"

// Permanent marks err as one that retrying cannot fix — the endpoint
// rejected the batch itself (an HTTP 400, a message it cannot store). The
// router counts and logs such a batch and moves past it instead of retrying.
// Any other error from Write is retried with backoff.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
