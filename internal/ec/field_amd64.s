//go:build amd64 && !purego

#include "textflag.h"

// func mulADX(z, x, y *fe)
//
// z = x * y mod p with MULX and the two carry chains of ADCX/ADOX
// (BMI2 + ADX). Row i adds x[i]·y into the 512-bit accumulator R8..R15;
// the high half is then folded in twice with 2^256 ≡ 0x1000003D1, as in
// the Go version (fe.mul and fe.reduce), which TestFieldOps compares
// against math/big.
TEXT ·mulADX(SB), NOSPLIT, $0-24
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), CX

	// Row 0: R8..R12 = x0 * y
	MOVQ 0(SI), DX
	MULXQ 0(CX), R8, R9
	MULXQ 8(CX), AX, R10
	ADDQ AX, R9
	MULXQ 16(CX), AX, R11
	ADCQ AX, R10
	MULXQ 24(CX), AX, R12
	ADCQ AX, R11
	ADCQ $0, R12

	// Row 1: R9..R13 += x1 * y
	MOVQ 8(SI), DX
	XORQ R13, R13 // also clears CF and OF
	MULXQ 0(CX), AX, BX
	ADCXQ AX, R9
	ADOXQ BX, R10
	MULXQ 8(CX), AX, BX
	ADCXQ AX, R10
	ADOXQ BX, R11
	MULXQ 16(CX), AX, BX
	ADCXQ AX, R11
	ADOXQ BX, R12
	MULXQ 24(CX), AX, BX
	ADCXQ AX, R12
	ADOXQ BX, R13
	MOVQ $0, AX
	ADCXQ AX, R13

	// Row 2: R10..R14 += x2 * y
	MOVQ 16(SI), DX
	XORQ R14, R14
	MULXQ 0(CX), AX, BX
	ADCXQ AX, R10
	ADOXQ BX, R11
	MULXQ 8(CX), AX, BX
	ADCXQ AX, R11
	ADOXQ BX, R12
	MULXQ 16(CX), AX, BX
	ADCXQ AX, R12
	ADOXQ BX, R13
	MULXQ 24(CX), AX, BX
	ADCXQ AX, R13
	ADOXQ BX, R14
	MOVQ $0, AX
	ADCXQ AX, R14

	// Row 3: R11..R15 += x3 * y
	MOVQ 24(SI), DX
	XORQ R15, R15
	MULXQ 0(CX), AX, BX
	ADCXQ AX, R11
	ADOXQ BX, R12
	MULXQ 8(CX), AX, BX
	ADCXQ AX, R12
	ADOXQ BX, R13
	MULXQ 16(CX), AX, BX
	ADCXQ AX, R13
	ADOXQ BX, R14
	MULXQ 24(CX), AX, BX
	ADCXQ AX, R14
	ADOXQ BX, R15
	MOVQ $0, AX
	ADCXQ AX, R15

	JMP reduce<>(SB)

// func sqrADX(z, x *fe)
//
// z = x² mod p: the six cross products once, doubled, plus the squares.
TEXT ·sqrADX(SB), NOSPLIT, $0-16
	MOVQ x+8(FP), SI

	// Cross products into R9..R14: x0·(x1, x2, x3), x1·(x2, x3), x2·x3.
	MOVQ 0(SI), DX
	MULXQ 8(SI), R9, R10
	MULXQ 16(SI), AX, R11
	ADDQ AX, R10
	MULXQ 24(SI), AX, R12
	ADCQ AX, R11
	ADCQ $0, R12

	MOVQ 8(SI), DX
	XORQ R13, R13
	MULXQ 16(SI), AX, BX
	ADCXQ AX, R11
	ADOXQ BX, R12
	MULXQ 24(SI), AX, BX
	ADCXQ AX, R12
	ADOXQ BX, R13
	MOVQ $0, AX
	ADCXQ AX, R13

	MOVQ 16(SI), DX
	XORQ R14, R14
	MULXQ 24(SI), AX, BX
	ADCXQ AX, R13
	ADOXQ BX, R14
	MOVQ $0, AX
	ADCXQ AX, R14

	// Double: R9..R15 = 2·(R9..R14)
	XORQ R15, R15
	ADDQ R9, R9
	ADCQ R10, R10
	ADCQ R11, R11
	ADCQ R12, R12
	ADCQ R13, R13
	ADCQ R14, R14
	ADCQ $0, R15

	// Add the squares x_i² at limbs 2i, 2i+1.
	MOVQ 0(SI), DX
	MULXQ DX, R8, BX
	ADDQ BX, R9
	MOVQ 8(SI), DX
	MULXQ DX, AX, BX
	ADCQ AX, R10
	ADCQ BX, R11
	MOVQ 16(SI), DX
	MULXQ DX, AX, BX
	ADCQ AX, R12
	ADCQ BX, R13
	MOVQ 24(SI), DX
	MULXQ DX, AX, BX
	ADCQ AX, R14
	ADCQ BX, R15

	JMP reduce<>(SB)

// reduce<> finishes mulADX and sqrADX: z = R8..R15 mod p. It runs on the
// caller's frame, so z is at the same argument offset for both.
TEXT reduce<>(SB), NOSPLIT, $0
	// R8..R11 += 0x1000003D1 · R12..R15, the carry limb ending in R12.
	MOVQ $0x1000003D1, DX
	XORQ AX, AX
	MULXQ R12, AX, BX
	ADCXQ AX, R8
	ADOXQ BX, R9
	MULXQ R13, AX, BX
	ADCXQ AX, R9
	ADOXQ BX, R10
	MULXQ R14, AX, BX
	ADCXQ AX, R10
	ADOXQ BX, R11
	MULXQ R15, AX, R12
	ADCXQ AX, R11
	MOVQ $0, AX
	ADOXQ AX, R12
	ADCXQ AX, R12

	// Fold R12 (< 2^34) once more.
	MULXQ R12, AX, BX
	ADDQ AX, R8
	ADCQ BX, R9
	ADCQ $0, R10
	ADCQ $0, R11
	JCC store
	// Wrapped past 2^256 (rare): the value is now below 2^67; add pc.
	ADDQ DX, R8
	ADCQ $0, R9

store:
	MOVQ z+0(FP), DI
	MOVQ R8, 0(DI)
	MOVQ R9, 8(DI)
	MOVQ R10, 16(DI)
	MOVQ R11, 24(DI)
	RET
