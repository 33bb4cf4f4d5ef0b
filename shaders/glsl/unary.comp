#version 450
// unary: out (dense) = f(x (strided)), the op chosen by a push constant.
#include "common.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };

layout(push_constant) uniform P {
	uint n, rank, out_off, x_off;
	uint op;
	float alpha, beta;
	uint pad;
	uint shape[MAX_RANK];
	uint x_st[MAX_RANK];
} p;

// Op codes, in tensor.UnaryOp order.
#define NEG 0
#define ABS 1
#define EXP 2
#define LOG 3
#define SQRT 4
#define RSQRT 5
#define SQUARE 6
#define RELU 7
#define SIGN 8
#define POW 9
#define CLAMP 10
#define AFFINE 11
#define RELUMASK 12
#define RECIP 13

float apply(float v) {
	switch (p.op) {
	case NEG: return -v;
	case ABS: return abs(v);
	case EXP: return exp(v);
	case LOG: return log(v);
	case SQRT: return sqrt(v);
	case RSQRT: return 1.0 / sqrt(v);
	case SQUARE: return v * v;
	case RELU: return v <= 0.0 ? 0.0 : v;
	case SIGN: return v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : v);
	case POW: return spow(v, p.alpha);
	case CLAMP: return v < p.alpha ? p.alpha : (v > p.beta ? p.beta : v);
	case AFFINE: return p.alpha == 0.0 ? p.beta : p.alpha * v + p.beta;
	case RELUMASK: return v > 0.0 ? 1.0 : 0.0;
	case RECIP: return 1.0 / v;
	}
	return v;
}

void main() {
	uint i = flat_index();
	if (i >= p.n) return;
	uint xo = p.x_off, r = i;
	for (int d = int(p.rank) - 1; d >= 0; --d) {
		uint c = r % p.shape[d];
		r /= p.shape[d];
		xo += c * p.x_st[d];
	}
	o[p.out_off + i] = apply(x[xo]);
}
