//go:build !amd64 || purego

package bench

// hostFMA returns the Go multiply-add tile: this build has no assembly.
func hostFMA() (name string, flopsPerTrip int, run func(iters int) float32) { return goFMA() }
