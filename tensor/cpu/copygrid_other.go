//go:build !amd64 || purego

package cpu

// copyGridAsm is nil: copyGrid runs in Go.
var copyGridAsm func(dst, src *float32, bias int, outer *offs, nOuter int, inner *run, nInner int, sw int)

// addGridAsm is nil: addGrid runs in Go.
var addGridAsm func(dst, src *float32, outer *offs, nOuter int, inner *run, nInner int, sw int)
