package vulkan

import "time"

// ProbeResult is the outcome of one ceiling probe (see ProbeFMA,
// ProbeCopy, ProbeDispatch and ProbeSubmit): the work done (FLOPs, bytes
// moved, or dispatches, as each probe documents) and the wall time from the
// first recorded command to the end of the fence wait.
type ProbeResult struct {
	Work    float64
	Elapsed time.Duration
}

// Rate is Work per second.
func (r ProbeResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return r.Work / r.Elapsed.Seconds()
}
