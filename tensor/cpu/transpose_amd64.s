//go:build !purego

#include "textflag.h"

// func transpose8AVX(dst *float32, ldd int, src *float32, lds int, blocks int)
//
// For b < blocks: the 8x8 block of src at rows 0..7 (stride lds elements),
// columns 8b..8b+8 goes, transposed, to dst rows 8b..8b+8 (stride ldd),
// columns 0..7: dst[(8b+p)·ldd + i] = src[i·lds + 8b+p].
// Registers: SI rows 0-3 of src, BX rows 4-7, R9 lds bytes, R10 3·lds bytes,
// DI dst, R11 ldd bytes, R12 3·ldd bytes, CX blocks left.
TEXT ·transpose8AVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10
	LEAQ (SI)(R9*4), BX
	MOVQ blocks+32(FP), CX
	TESTQ CX, CX
	JEQ  done

loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R9*1), Y1
	VMOVUPS (SI)(R9*2), Y2
	VMOVUPS (SI)(R10*1), Y3
	VMOVUPS (BX), Y4
	VMOVUPS (BX)(R9*1), Y5
	VMOVUPS (BX)(R9*2), Y6
	VMOVUPS (BX)(R10*1), Y7

	VUNPCKLPS Y1, Y0, Y8  // r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]
	VUNPCKHPS Y1, Y0, Y9  // r0[2] r1[2] r0[3] r1[3] | r0[6] r1[6] r0[7] r1[7]
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	VSHUFPS $0x44, Y10, Y8, Y0  // r0..3[0] | r0..3[4]
	VSHUFPS $0xee, Y10, Y8, Y1  // r0..3[1] | r0..3[5]
	VSHUFPS $0x44, Y11, Y9, Y2  // r0..3[2] | r0..3[6]
	VSHUFPS $0xee, Y11, Y9, Y3  // r0..3[3] | r0..3[7]
	VSHUFPS $0x44, Y14, Y12, Y4 // r4..7[0] | r4..7[4]
	VSHUFPS $0xee, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xee, Y15, Y13, Y7

	VPERM2F128 $0x20, Y4, Y0, Y8  // column 0
	VPERM2F128 $0x20, Y5, Y1, Y9  // column 1
	VPERM2F128 $0x20, Y6, Y2, Y10 // column 2
	VPERM2F128 $0x20, Y7, Y3, Y11 // column 3
	VPERM2F128 $0x31, Y4, Y0, Y12 // column 4
	VPERM2F128 $0x31, Y5, Y1, Y13 // column 5
	VPERM2F128 $0x31, Y6, Y2, Y14 // column 6
	VPERM2F128 $0x31, Y7, Y3, Y15 // column 7

	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(R11*1)
	VMOVUPS Y10, (DI)(R11*2)
	VMOVUPS Y11, (DI)(R12*1)
	LEAQ (DI)(R11*4), DI
	VMOVUPS Y12, (DI)
	VMOVUPS Y13, (DI)(R11*1)
	VMOVUPS Y14, (DI)(R11*2)
	VMOVUPS Y15, (DI)(R12*1)
	LEAQ (DI)(R11*4), DI

	ADDQ $32, SI
	ADDQ $32, BX
	DECQ CX
	JNE  loop

done:
	VZEROUPPER
	RET
