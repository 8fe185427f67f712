//go:build amd64 && !race

#include "textflag.h"

// func storeWords(dst *atomic.Int64, src *int64, n int)
TEXT ·storeWords(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	MOVQ (SI), AX
	MOVQ AX, (DI)
	ADDQ $8, SI
	ADDQ $8, DI
	DECQ CX
	JNE  loop
	RET

// func storeWord(p unsafe.Pointer, v uint64)
TEXT ·storeWord(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), DI
	MOVQ v+8(FP), AX
	MOVQ AX, (DI)
	RET
