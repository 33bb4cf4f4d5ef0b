#version 450
// binary: out (dense) = f(a, b) with a and b strided (stride 0 broadcasts).
#include "common.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 2) readonly buffer B { float b[]; };

layout(push_constant) uniform P {
	uint n, rank, out_off, a_off;
	uint b_off, op, pad0, pad1;
	uint shape[MAX_RANK];
	uint a_st[MAX_RANK];
	uint b_st[MAX_RANK];
} p;

// Op codes, in tensor.BinaryOp order.
#define ADD 0
#define SUB 1
#define MUL 2
#define DIV 3
#define POW 4
#define MAXIMUM 5
#define MINIMUM 6
#define EQ 7
#define NE 8
#define LT 9
#define LE 10
#define GT 11
#define GE 12

float apply(float x, float y) {
	switch (p.op) {
	case ADD: return x + y;
	case SUB: return x - y;
	case MUL: return x * y;
	case DIV: return x / y;
	case POW: return spow(x, y);
	case MAXIMUM: return (isnan(x) || x > y) ? x : y;
	case MINIMUM: return (isnan(x) || x < y) ? x : y;
	case EQ: return x == y ? 1.0 : 0.0;
	case NE: return x != y ? 1.0 : 0.0;
	case LT: return x < y ? 1.0 : 0.0;
	case LE: return x <= y ? 1.0 : 0.0;
	case GT: return x > y ? 1.0 : 0.0;
	case GE: return x >= y ? 1.0 : 0.0;
	}
	return x;
}

void main() {
	uint i = flat_index();
	if (i >= p.n) return;
	uint ao = p.a_off, bo = p.b_off, r = i;
	for (int d = int(p.rank) - 1; d >= 0; --d) {
		uint c = r % p.shape[d];
		r /= p.shape[d];
		ao += c * p.a_st[d];
		bo += c * p.b_st[d];
	}
	o[p.out_off + i] = apply(a[ao], b[bo]);
}
