//go:build !purego

#include "textflag.h"

// Indices 0, 2, ..., 30: VPERMT2PS picks the even elements of two vectors.
DATA evens<>+0(SB)/8, $0x0000000200000000
DATA evens<>+8(SB)/8, $0x0000000600000004
DATA evens<>+16(SB)/8, $0x0000000a00000008
DATA evens<>+24(SB)/8, $0x0000000e0000000c
DATA evens<>+32(SB)/8, $0x0000001200000010
DATA evens<>+40(SB)/8, $0x0000001600000014
DATA evens<>+48(SB)/8, $0x0000001a00000018
DATA evens<>+56(SB)/8, $0x0000001e0000001c
GLOBL evens<>(SB), RODATA|NOPTR, $64

// Masks for a last step of m < 16 elements (m = 16 for a full stride-2
// step), 8 bytes per m: the first and second loaded vectors of a stride-2
// step (the 2m-1 inputs it reads) and the m elements stored.
DATA masks<>+0(SB)/8, $0x0000000000000000
DATA masks<>+8(SB)/8, $0x0000000100000001
DATA masks<>+16(SB)/8, $0x0000000300000007
DATA masks<>+24(SB)/8, $0x000000070000001f
DATA masks<>+32(SB)/8, $0x0000000f0000007f
DATA masks<>+40(SB)/8, $0x0000001f000001ff
DATA masks<>+48(SB)/8, $0x0000003f000007ff
DATA masks<>+56(SB)/8, $0x0000007f00001fff
DATA masks<>+64(SB)/8, $0x000000ff00007fff
DATA masks<>+72(SB)/8, $0x000001ff0001ffff
DATA masks<>+80(SB)/8, $0x000003ff0007ffff
DATA masks<>+88(SB)/8, $0x000007ff001fffff
DATA masks<>+96(SB)/8, $0x00000fff007fffff
DATA masks<>+104(SB)/8, $0x00001fff01ffffff
DATA masks<>+112(SB)/8, $0x00003fff07ffffff
DATA masks<>+120(SB)/8, $0x00007fff1fffffff
DATA masks<>+128(SB)/8, $0x0000ffff7fffffff
GLOBL masks<>(SB), RODATA|NOPTR, $136

// func copyGridAVX512(dst, src *float32, bias int, outer *offs, nOuter int, inner *run, nInner int, sw int)
//
// Registers: DI dst+bias, SI src, R8 outer pair, R9 end of outer, R11 end of
// inner, R13 row dst, BX row src, DX inner run, AX/CX run dst/src, R12
// elements left, R10 the mask table.
TEXT ·copyGridAVX512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ bias+16(FP), AX
	LEAQ (DI)(AX*4), DI
	MOVQ outer+24(FP), R8
	MOVQ nOuter+32(FP), R9
	SHLQ $4, R9
	ADDQ R8, R9
	MOVQ inner+40(FP), R11
	MOVQ nInner+48(FP), AX
	LEAQ (AX)(AX*2), AX
	LEAQ (R11)(AX*8), R11
	MOVQ sw+56(FP), AX
	CMPQ AX, $2
	JEQ  stride2

s1row:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	LEAQ (DI)(AX*4), R13
	LEAQ (SI)(BX*4), BX
	MOVQ inner+40(FP), DX

s1span:
	MOVQ 0(DX), AX
	MOVQ 8(DX), CX
	MOVQ 16(DX), R12
	LEAQ (R13)(AX*4), AX
	LEAQ (BX)(CX*4), CX

s1full:
	CMPQ R12, $16
	JLT  s1tail
	VMOVUPS (CX), Z0
	VMOVUPS Z0, (AX)
	ADDQ $64, AX
	ADDQ $64, CX
	SUBQ $16, R12
	JMP  s1full

s1tail:
	TESTQ R12, R12
	JEQ   s1next
	LEAQ  masks<>(SB), R10
	KMOVW 4(R10)(R12*8), K1
	VMOVUPS.Z (CX), K1, Z0
	VMOVUPS Z0, K1, (AX)

s1next:
	ADDQ $24, DX
	CMPQ DX, R11
	JLT  s1span
	ADDQ $16, R8
	CMPQ R8, R9
	JLT  s1row
	VZEROUPPER
	RET

stride2:
	VMOVDQU32 evens<>(SB), Z30
	KMOVW masks<>+128(SB), K4 // full step: 16 inputs
	KMOVW masks<>+130(SB), K5 // and 15 more

s2row:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	LEAQ (DI)(AX*4), R13
	LEAQ (SI)(BX*4), BX
	MOVQ inner+40(FP), DX

s2span:
	MOVQ 0(DX), AX
	MOVQ 8(DX), CX
	MOVQ 16(DX), R12
	LEAQ (R13)(AX*4), AX
	LEAQ (BX)(CX*4), CX

s2full:
	CMPQ R12, $16
	JLT  s2tail
	VMOVUPS.Z (CX), K4, Z0
	VMOVUPS.Z 64(CX), K5, Z1
	VPERMT2PS Z1, Z30, Z0
	VMOVUPS Z0, (AX)
	ADDQ $64, AX
	ADDQ $128, CX
	SUBQ $16, R12
	JMP  s2full

s2tail:
	TESTQ R12, R12
	JEQ   s2next
	LEAQ  masks<>(SB), R10
	KMOVW 0(R10)(R12*8), K1
	KMOVW 2(R10)(R12*8), K2
	KMOVW 4(R10)(R12*8), K3
	VMOVUPS.Z (CX), K1, Z0
	VMOVUPS.Z 64(CX), K2, Z1
	VPERMT2PS Z1, Z30, Z0
	VMOVUPS Z0, K3, (AX)

s2next:
	ADDQ $24, DX
	CMPQ DX, R11
	JLT  s2span
	ADDQ $16, R8
	CMPQ R8, R9
	JLT  s2row
	VZEROUPPER
	RET

// Indices 0, 0, 1, 1, .., 7, 7 and 8, 8, .., 15, 15: VPERMPS spreads 16
// values over the even lanes of two vectors.
DATA spreadlo<>+0(SB)/8, $0x0000000000000000
DATA spreadlo<>+8(SB)/8, $0x0000000100000001
DATA spreadlo<>+16(SB)/8, $0x0000000200000002
DATA spreadlo<>+24(SB)/8, $0x0000000300000003
DATA spreadlo<>+32(SB)/8, $0x0000000400000004
DATA spreadlo<>+40(SB)/8, $0x0000000500000005
DATA spreadlo<>+48(SB)/8, $0x0000000600000006
DATA spreadlo<>+56(SB)/8, $0x0000000700000007
GLOBL spreadlo<>(SB), RODATA|NOPTR, $64
DATA spreadhi<>+0(SB)/8, $0x0000000800000008
DATA spreadhi<>+8(SB)/8, $0x0000000900000009
DATA spreadhi<>+16(SB)/8, $0x0000000a0000000a
DATA spreadhi<>+24(SB)/8, $0x0000000b0000000b
DATA spreadhi<>+32(SB)/8, $0x0000000c0000000c
DATA spreadhi<>+40(SB)/8, $0x0000000d0000000d
DATA spreadhi<>+48(SB)/8, $0x0000000e0000000e
DATA spreadhi<>+56(SB)/8, $0x0000000f0000000f
GLOBL spreadhi<>(SB), RODATA|NOPTR, $64

// func addGridAVX512(dst, src *float32, outer *offs, nOuter int, inner *run, nInner int, sw int)
//
// dst[o.dst+s.dst+t·sw] += src[o.src+s.src+t]. Registers as in
// copyGridAVX512, with AX the run's dst and CX its src.
TEXT ·addGridAVX512(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ outer+16(FP), R8
	MOVQ nOuter+24(FP), R9
	SHLQ $4, R9
	ADDQ R8, R9
	MOVQ inner+32(FP), R11
	MOVQ nInner+40(FP), AX
	LEAQ (AX)(AX*2), AX
	LEAQ (R11)(AX*8), R11
	MOVQ sw+48(FP), AX
	CMPQ AX, $2
	JEQ  a2start

a1row:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	LEAQ (DI)(AX*4), R13
	LEAQ (SI)(BX*4), BX
	MOVQ inner+32(FP), DX

a1run:
	MOVQ 0(DX), AX
	MOVQ 8(DX), CX
	MOVQ 16(DX), R12
	LEAQ (R13)(AX*4), AX
	LEAQ (BX)(CX*4), CX

a1full:
	CMPQ R12, $16
	JLT  a1tail
	VMOVUPS (CX), Z0
	VADDPS  (AX), Z0, Z0
	VMOVUPS Z0, (AX)
	ADDQ $64, AX
	ADDQ $64, CX
	SUBQ $16, R12
	JMP  a1full

a1tail:
	TESTQ R12, R12
	JEQ   a1next
	LEAQ  masks<>(SB), R10
	KMOVW 4(R10)(R12*8), K1
	VMOVUPS.Z (CX), K1, Z0
	VMOVUPS.Z (AX), K1, Z1
	VADDPS  Z1, Z0, Z0
	VMOVUPS Z0, K1, (AX)

a1next:
	ADDQ $24, DX
	CMPQ DX, R11
	JLT  a1run
	ADDQ $16, R8
	CMPQ R8, R9
	JLT  a1row
	VZEROUPPER
	RET

a2start:
	VMOVDQU32 spreadlo<>(SB), Z28
	VMOVDQU32 spreadhi<>(SB), Z29
	MOVL  $0x5555, AX
	KMOVW AX, K6              // even lanes
	KMOVW masks<>+130(SB), K5 // 15 lanes: a full step's second vector

a2row:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	LEAQ (DI)(AX*4), R13
	LEAQ (SI)(BX*4), BX
	MOVQ inner+32(FP), DX

a2run:
	MOVQ 0(DX), AX
	MOVQ 8(DX), CX
	MOVQ 16(DX), R12
	LEAQ (R13)(AX*4), AX
	LEAQ (BX)(CX*4), CX

a2full:
	CMPQ R12, $16
	JLT  a2tail
	VMOVUPS (CX), Z2
	VPERMPS Z2, Z28, Z3
	VPERMPS Z2, Z29, Z4
	VMOVUPS (AX), Z0
	VMOVUPS.Z 64(AX), K5, Z1
	VADDPS  Z3, Z0, K6, Z0
	VADDPS  Z4, Z1, K6, Z1
	VMOVUPS Z0, (AX)
	VMOVUPS Z1, K5, 64(AX)
	ADDQ $128, AX
	ADDQ $64, CX
	SUBQ $16, R12
	JMP  a2full

a2tail:
	TESTQ R12, R12
	JEQ   a2next
	LEAQ  masks<>(SB), R10
	KMOVW 0(R10)(R12*8), K1
	KMOVW 2(R10)(R12*8), K2
	KMOVW 4(R10)(R12*8), K3
	VMOVUPS.Z (CX), K3, Z2
	VPERMPS Z2, Z28, Z3
	VPERMPS Z2, Z29, Z4
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS.Z 64(AX), K2, Z1
	VADDPS  Z3, Z0, K6, Z0
	VADDPS  Z4, Z1, K6, Z1
	VMOVUPS Z0, K1, (AX)
	VMOVUPS Z1, K2, 64(AX)

a2next:
	ADDQ $24, DX
	CMPQ DX, R11
	JLT  a2run
	ADDQ $16, R8
	CMPQ R8, R9
	JLT  a2row
	VZEROUPPER
	RET

// func copyGridAVX2(dst, src *float32, bias int, outer *offs, nOuter int, inner *run, nInner int, sw int)
//
// Stride 1 only. Registers as in copyGridAVX512.
TEXT ·copyGridAVX2(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ bias+16(FP), AX
	LEAQ (DI)(AX*4), DI
	MOVQ outer+24(FP), R8
	MOVQ nOuter+32(FP), R9
	SHLQ $4, R9
	ADDQ R8, R9
	MOVQ inner+40(FP), R11
	MOVQ nInner+48(FP), AX
	LEAQ (AX)(AX*2), AX
	LEAQ (R11)(AX*8), R11

v1row:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	LEAQ (DI)(AX*4), R13
	LEAQ (SI)(BX*4), BX
	MOVQ inner+40(FP), DX

v1run:
	MOVQ 0(DX), AX
	MOVQ 8(DX), CX
	MOVQ 16(DX), R12
	LEAQ (R13)(AX*4), AX
	LEAQ (BX)(CX*4), CX

v1full:
	CMPQ R12, $8
	JLT  v1tail
	VMOVUPS (CX), Y0
	VMOVUPS Y0, (AX)
	ADDQ $32, AX
	ADDQ $32, CX
	SUBQ $8, R12
	JMP  v1full

v1tail:
	TESTQ R12, R12
	JEQ   v1next
	VMOVSS (CX), X0
	VMOVSS X0, (AX)
	ADDQ $4, AX
	ADDQ $4, CX
	DECQ R12
	JMP  v1tail

v1next:
	ADDQ $24, DX
	CMPQ DX, R11
	JLT  v1run
	ADDQ $16, R8
	CMPQ R8, R9
	JLT  v1row
	VZEROUPPER
	RET

// func addGridAVX2(dst, src *float32, outer *offs, nOuter int, inner *run, nInner int, sw int)
//
// Stride 1 only. Registers as in addGridAVX512.
TEXT ·addGridAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ outer+16(FP), R8
	MOVQ nOuter+24(FP), R9
	SHLQ $4, R9
	ADDQ R8, R9
	MOVQ inner+32(FP), R11
	MOVQ nInner+40(FP), AX
	LEAQ (AX)(AX*2), AX
	LEAQ (R11)(AX*8), R11

w1row:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	LEAQ (DI)(AX*4), R13
	LEAQ (SI)(BX*4), BX
	MOVQ inner+32(FP), DX

w1run:
	MOVQ 0(DX), AX
	MOVQ 8(DX), CX
	MOVQ 16(DX), R12
	LEAQ (R13)(AX*4), AX
	LEAQ (BX)(CX*4), CX

w1full:
	CMPQ R12, $8
	JLT  w1tail
	VMOVUPS (CX), Y0
	VADDPS  (AX), Y0, Y0
	VMOVUPS Y0, (AX)
	ADDQ $32, AX
	ADDQ $32, CX
	SUBQ $8, R12
	JMP  w1full

w1tail:
	TESTQ R12, R12
	JEQ   w1next
	VMOVSS (CX), X0
	VADDSS (AX), X0, X0
	VMOVSS X0, (AX)
	ADDQ $4, AX
	ADDQ $4, CX
	DECQ R12
	JMP  w1tail

w1next:
	ADDQ $24, DX
	CMPQ DX, R11
	JLT  w1run
	ADDQ $16, R8
	CMPQ R8, R9
	JLT  w1row
	VZEROUPPER
	RET
