#version 450
// ew4: elementwise ops over dense operands as vec4s, the fast path of
// Unary and Binary when every operand is dense with the output's shape,
// the element count and every offset are multiples of 4 (ops_fast.go).
// Four elements per invocation halve the per-element cost on drivers that
// load storage buffers lane by lane (llvmpipe) and cost nothing on GPUs.
// The op semantics (NaN, infinities, zero handling) are exactly those of
// unary.comp and binary.comp, component by component.
//
// @variant ew4_unary -DUNARY
// @variant ew4_binary -DBINARY
#include "common.glsl"

layout(local_size_x = 128, local_size_x_id = 0) in;
// The op is a specialization constant, so each pipeline holds one op's
// code: a uniform switch would be executed under lane masks, every case,
// by llvmpipe.
layout(constant_id = 1) const uint OP = 0;

layout(std430, set = 0, binding = 0) writeonly buffer Out { vec4 o[]; };
layout(std430, set = 0, binding = 1) readonly buffer A { vec4 a[]; };
#ifdef BINARY
layout(std430, set = 0, binding = 2) readonly buffer B { vec4 b[]; };
#endif

// Offsets and the count are in vec4 units.
layout(push_constant) uniform P {
	uint n4, out_off4, a_off4, b_off4;
	float alpha, beta;
	uint pad0, pad1;
} p;

bvec4 bor(bvec4 x, bvec4 y) { return bvec4(uvec4(x) | uvec4(y)); }

#ifdef UNARY
// Op codes, in tensor.UnaryOp order (as unary.comp).
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

vec4 apply(vec4 v) {
	const vec4 zero = vec4(0.0), one = vec4(1.0);
	switch (OP) {
	case NEG: return -v;
	case ABS: return abs(v);
	case EXP: return exp(v);
	case LOG: return log(v);
	case SQRT: return sqrt(v);
	case RSQRT: return one / sqrt(v);
	case SQUARE: return v * v;
	case RELU: return mix(v, zero, lessThanEqual(v, zero));
	case SIGN: return mix(mix(v, -one, lessThan(v, zero)), one, greaterThan(v, zero));
	case POW: return vec4(spow(v.x, p.alpha), spow(v.y, p.alpha), spow(v.z, p.alpha), spow(v.w, p.alpha));
	case CLAMP: return mix(mix(v, vec4(p.beta), greaterThan(v, vec4(p.beta))), vec4(p.alpha), lessThan(v, vec4(p.alpha)));
	case AFFINE: return p.alpha == 0.0 ? vec4(p.beta) : p.alpha * v + p.beta;
	case RELUMASK: return vec4(greaterThan(v, zero));
	case RECIP: return one / v;
	}
	return v;
}
#endif

#ifdef BINARY
// Op codes, in tensor.BinaryOp order (as binary.comp).
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

vec4 apply(vec4 x, vec4 y) {
	switch (OP) {
	case ADD: return x + y;
	case SUB: return x - y;
	case MUL: return x * y;
	case DIV: return x / y;
	case POW: return vec4(spow(x.x, y.x), spow(x.y, y.y), spow(x.z, y.z), spow(x.w, y.w));
	case MAXIMUM: return mix(y, x, bor(isnan(x), greaterThan(x, y)));
	case MINIMUM: return mix(y, x, bor(isnan(x), lessThan(x, y)));
	case EQ: return vec4(equal(x, y));
	case NE: return vec4(notEqual(x, y));
	case LT: return vec4(lessThan(x, y));
	case LE: return vec4(lessThanEqual(x, y));
	case GT: return vec4(greaterThan(x, y));
	case GE: return vec4(greaterThanEqual(x, y));
	}
	return x;
}
#endif

void main() {
	uint gi = flat_index();
	// Loads stay outside any branch (the tail lanes read the last vec4);
	// only the store is guarded.
	uint i = min(gi, p.n4 - 1u);
#ifdef UNARY
	vec4 r = apply(a[p.a_off4 + i]);
#else
	vec4 r = apply(a[p.a_off4 + i], b[p.b_off4 + i]);
#endif
	if (gi < p.n4) o[p.out_off4 + i] = r;
}
