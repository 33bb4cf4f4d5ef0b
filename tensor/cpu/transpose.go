package cpu

import "fmt"

// transpose8 writes dst[(8b+p)·ldd + i] = src[i·lds + 8b+p] for rows i < 8,
// p < 8 and blocks b < blocks: eight rows of src, 8·blocks long, become
// 8·blocks rows of dst, 8 long. It checks the extents of dst and src first
// and uses the AVX kernel where the CPU has one.
func transpose8(dst []float32, ldd int, src []float32, lds int, blocks int) {
	if blocks <= 0 {
		return
	}
	if ldd < 8 || len(dst) < (8*blocks-1)*ldd+8 || len(src) < 7*lds+8*blocks {
		panic(fmt.Sprintf("cpu: transpose8 of %d blocks out of range: dst %d (stride %d), src %d (stride %d)",
			blocks, len(dst), ldd, len(src), lds))
	}
	if transpose8Asm != nil {
		transpose8Asm(&dst[0], ldd, &src[0], lds, blocks)
		return
	}
	transpose8Go(dst, ldd, src, lds, blocks)
}

// transpose8Go is transpose8 in Go, without the extent check.
func transpose8Go(dst []float32, ldd int, src []float32, lds int, blocks int) {
	for i := range 8 {
		row := src[i*lds : i*lds+8*blocks]
		for p, v := range row {
			dst[p*ldd+i] = v
		}
	}
}
