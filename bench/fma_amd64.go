//go:build amd64 && !purego

package bench

import "golang.org/x/sys/cpu"

func fmaAVX512(iters int) float32
func fmaAVX2(iters int) float32

// hostFMA returns the host's widest FMA loop and its FLOPs per trip:
// AVX-512 (384) or AVX2+FMA (192) in assembly, else the Go tile.
func hostFMA() (name string, flopsPerTrip int, run func(iters int) float32) {
	switch {
	case cpu.X86.HasAVX512F:
		return "AVX-512 FMA loop (assembly, 12 chains)", 384, fmaAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return "AVX2 FMA loop (assembly, 12 chains)", 192, fmaAVX2
	}
	return goFMA()
}
