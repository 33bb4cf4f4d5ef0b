#version 450
// rowcp4: the row-copy fast path of Copy (ops_fast_rows.go): a dense
// output whose collapsed iteration space ends in rows of R elements that x
// also stores contiguously (stride 1) while its outer axes may be permuted
// ([N,C,H,W] -> [C,N,H,W] copies, dense copies at any x offset). The
// output is a flat vec4 stream; each invocation writes V consecutive vec4s
// and decomposes its row index over the outer axes once (twice for the
// next row), not once per element as copy.comp does.
//
//   rowcp4       R, x's outer strides and both offsets are multiples of 4:
//                x is read as vec4s too; V vec4s of one row per invocation.
//   rowcp4_any   any R >= 4V and x offset: x is read one element at a time;
//                the 4V elements of an invocation straddle at most one row
//                boundary, so two row bases cover them.
//
// `ninv` is the number of invocations. Units: in rowcp4 `r`, `x_off` and
// `x_st` count vec4s and ninv = rows * ceil(R/4 / V) (n4 unused); in
// rowcp4_any they count elements, n4 is the number of output vec4s (N/4,
// the host copies the N%4 tail) and ninv = ceil(n4 / V). x_last is the
// last element of x's view, a clamp for the loads of the tail lanes.
// Bitwise (float32 or int32).
//
// @variant rowcp4 -DVEC
// @variant rowcp4_any
#include "common.glsl"

layout(local_size_x = 64, local_size_x_id = 0) in;
layout(constant_id = 1) const uint V = 4;

layout(std430, set = 0, binding = 0) writeonly buffer Out { uvec4 o[]; };
#ifdef VEC
layout(std430, set = 0, binding = 1) readonly buffer X { uvec4 x[]; };
#else
layout(std430, set = 0, binding = 1) readonly buffer X { uint x[]; };
#endif

// orank outer axes (shape[0..orank-1], x strides x_st) of rows of r.
layout(push_constant) uniform P {
	uint n4, r, orank, rows;
	uint o_off4, x_off, x_last, ninv;
	uint shape[MAX_RANK];
	uint x_st[MAX_RANK];
} p;

// rowbase is x's offset of output row `row`.
uint rowbase(uint row) {
	uint b = p.x_off;
	for (int d = int(p.orank) - 1; d >= 0; --d) {
		uint s = p.shape[d];
		b += (row % s) * p.x_st[d];
		row /= s;
	}
	return b;
}

void main() {
	uint gi = flat_index();
	// Loads outside any branch: the tail lanes redo the last invocation.
	uint g = min(gi, p.ninv - 1u);
#ifdef VEC
	uint cpr = (p.r + V - 1u) / V; // invocations per row
	uint row = g / cpr;
	uint c0 = (g - row * cpr) * V;
	uint xb = rowbase(row) + c0;
	uint ob = p.o_off4 + row * p.r + c0;
	uint last = p.r - 1u - c0; // last valid column offset of this row
	uvec4 v[V];
	for (uint k = 0u; k < V; ++k) v[k] = x[xb + min(k, last)];
	if (gi < p.ninv) {
		for (uint k = 0u; k < V; ++k) {
			if (k <= last) o[ob + k] = v[k];
		}
	}
#else
	uint e0 = g * 4u * V;
	uint row = e0 / p.r;
	uint c0 = e0 - row * p.r;
	uint xa = rowbase(row);
	uint xn = rowbase(min(row + 1u, p.rows - 1u)) - p.r;
	uvec4 v[V];
	for (uint k = 0u; k < V; ++k) {
		uvec4 t;
		for (uint i = 0u; i < 4u; ++i) {
			uint c = c0 + 4u * k + i;
			t[i] = x[min((c < p.r ? xa : xn) + c, p.x_last)];
		}
		v[k] = t;
	}
	if (gi < p.ninv) {
		for (uint k = 0u; k < V; ++k) {
			if (g * V + k < p.n4) o[p.o_off4 + g * V + k] = v[k];
		}
	}
#endif
}
