#version 450
// ew4b: binary ops with broadcasting as vec4s, the fast path of Binary
// (ops_fast_bcast.go) when the output's collapsed iteration space ends in
// a dimension of a multiple of 4 elements that every operand either walks
// with stride 1 (read as vec4s: its other strides and its offset are then
// multiples of 4) or broadcasts with stride 0 (one float per vec4 of
// output, replicated). Covers a row vector over a matrix ([M,N] + [N]), a
// column ([M,N] * [M,1]) and per-channel vectors ([N,C,H,W] + [1,C,1,1]):
// one index decomposition per V vec4s instead of one per element.
//
//   ew4b_vv  both operands stride 1 on the last dimension
//   ew4b_vs  a stride 1, b broadcast along the last dimension
//   ew4b_sv  a broadcast, b stride 1
//
// The op semantics are binary.comp's, component by component (shared with
// ew4.comp).
//
// ew4b_flat_vs and ew4b_flat_sv take a last dimension K that is not a
// multiple of 4 (per-channel vectors over 15x15 or 7x7 maps): the vec
// operand must then be dense like the output (offset a multiple of 4) and
// is read as a flat vec4 stream; with K >= 4V the 4V elements of an
// invocation straddle at most one row boundary, so it loads the broadcast
// operand for two rows and picks per component. In these variants `rows`
// is the product of shape[0..rank-2], `inner4` holds K (in elements) and
// `chunks` is ceil(N/4 / V) for N output elements.
//
// @variant ew4b_vv -DA_VEC -DB_VEC
// @variant ew4b_flat_vs -DA_VEC -DFLAT
// @variant ew4b_flat_sv -DB_VEC -DFLAT
// @variant ew4b_vs -DA_VEC
// @variant ew4b_sv -DB_VEC
#include "common.glsl"

layout(local_size_x = 128, local_size_x_id = 0) in;
// The op is a specialization constant (tensor.BinaryOp).
layout(constant_id = 1) const uint OP = 0;

layout(std430, set = 0, binding = 0) writeonly buffer Out { vec4 o[]; };
#ifdef A_VEC
layout(std430, set = 0, binding = 1) readonly buffer A { vec4 a[]; };
#else
layout(std430, set = 0, binding = 1) readonly buffer A { float a[]; };
#endif
#ifdef B_VEC
layout(std430, set = 0, binding = 2) readonly buffer B { vec4 b[]; };
#else
layout(std430, set = 0, binding = 2) readonly buffer B { float b[]; };
#endif

// V is the vec4s of one row each invocation writes: the index
// decomposition (divisions by the shape) is paid once per V vec4s.
layout(constant_id = 2) const uint V = 4;

// shape is the collapsed output shape (rank >= 1, last dimension a
// multiple of 4); strides and offsets are in floats. The grid is rows (the
// product of shape[0..rank-2]) times chunks (ceil(inner4 / V)) invocations;
// inner4 and out_off4 are in vec4 units.
layout(push_constant) uniform P {
	uint rows, rank, out_off4, a_off;
	uint b_off, inner4, chunks, pad0;
	uint shape[MAX_RANK];
	uint a_st[MAX_RANK];
	uint b_st[MAX_RANK];
} p;

bvec4 bor(bvec4 x, bvec4 y) { return bvec4(uvec4(x) | uvec4(y)); }

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

#ifdef FLAT
// soff is the broadcast operand's element for row r of the output.
uint soff(uint r, uint off, bool isA) {
	for (int d = int(p.rank) - 2; d >= 0; --d) {
		uint k = r % p.shape[d];
		r /= p.shape[d];
		off += k * (isA ? p.a_st[d] : p.b_st[d]);
	}
	return off;
}

void main() {
	uint gi = flat_index();
	uint total4 = p.rows * p.inner4 / 4u;
	uint i0 = min(gi, p.chunks - 1u) * V;
	uint r0 = 4u * i0 / p.inner4;
	uint bound = (r0 + 1u) * p.inner4;
	uint r1 = min(r0 + 1u, p.rows - 1u);
#ifdef A_VEC
	vec2 s2 = vec2(b[soff(r0, p.b_off, false)], b[soff(r1, p.b_off, false)]);
	uint vo = p.a_off / 4u;
#else
	vec2 s2 = vec2(a[soff(r0, p.a_off, true)], a[soff(r1, p.a_off, true)]);
	uint vo = p.b_off / 4u;
#endif
	for (uint v = 0u; v < V; ++v) {
		uint i = min(i0 + v, total4 - 1u);
		bvec4 hi = greaterThanEqual(uvec4(4u * i) + uvec4(0u, 1u, 2u, 3u), uvec4(bound));
		vec4 sv = mix(vec4(s2.x), vec4(s2.y), hi);
#ifdef A_VEC
		vec4 res = apply(a[vo + i], sv);
#else
		vec4 res = apply(sv, b[vo + i]);
#endif
		if (gi < p.chunks && i0 + v < total4) o[p.out_off4 + i] = res;
	}
}
#else
void main() {
	uint gi = flat_index();
	uint total = p.rows * p.chunks;
	// Loads outside any branch: the tail lanes read the last vec4.
	uint g = min(gi, total - 1u);
	uint chunk = g % p.chunks;
	uint r = g / p.chunks;
	uint last = p.rank - 1u;
	uint ao = p.a_off, bo = p.b_off;
	for (int d = int(last) - 1; d >= 0; --d) {
		uint k = r % p.shape[d];
		r /= p.shape[d];
		ao += k * p.a_st[d];
		bo += k * p.b_st[d];
	}
	uint orow = p.out_off4 + (g / p.chunks) * p.inner4;
#ifndef A_VEC
	vec4 x = vec4(a[ao]);
#endif
#ifndef B_VEC
	vec4 y = vec4(b[bo]);
#endif
	for (uint v = 0u; v < V; ++v) {
		uint c4 = chunk * V + v;
		uint cl = min(c4, p.inner4 - 1u);
#ifdef A_VEC
		vec4 x = a[ao / 4u + cl];
#endif
#ifdef B_VEC
		vec4 y = b[bo / 4u + cl];
#endif
		vec4 res = apply(x, y);
		if (gi < total && c4 < p.inner4) o[orow + cl] = res;
	}
}
#endif
