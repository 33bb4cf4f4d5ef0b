//go:build !amd64 || purego

package cpu

// transpose8Asm is nil: transpose8 runs in Go.
var transpose8Asm func(dst *float32, ldd int, src *float32, lds int, blocks int)
