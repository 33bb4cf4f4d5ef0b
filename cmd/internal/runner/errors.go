package runner

import (
	"errors"
	"fmt"
	"strings"
)

// Exit codes of cmd/train and cmd/cluster.
const (
	// ExitOK: the run finished.
	ExitOK = 0
	// ExitFailure: the run failed while running (a non-finite loss, a
	// write error such as a full disk, a device error).
	ExitFailure = 1
	// ExitUsage: bad flags, an unknown preset, missing or unusable data, a
	// results folder that holds another run; nothing was trained.
	ExitUsage = 2
	// ExitInterrupted: stopped by SIGINT or SIGTERM after writing a
	// checkpoint (128 + SIGINT, the shell's convention); continue with
	// -resume.
	ExitInterrupted = 130
)

// ErrInterrupted is returned when a signal stopped the run after its
// checkpoint was written.
var ErrInterrupted = errors.New("interrupted")

// UsageError marks an error the user fixes by changing the command line
// or its inputs.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// Usage wraps err (nil stays nil) as a *UsageError.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &UsageError{err}
}

// ExitCode maps an error returned by a command to its exit code.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrInterrupted):
		return ExitInterrupted
	case errors.As(err, &ue):
		return ExitUsage
	}
	return ExitFailure
}

// OneLine flattens an error message to a single line.
func OneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
