#version 450
// Gather and scatter-add along the middle axis of [outer, n, inner].
//
// index_select  out[o, j, i] = x[o, idx[j], i]  (bitwise: float32 or int32)
// index_add     out[o, idx[j], i] += src[o, j, i]; one invocation owns a
//               column (o, i) and walks j in order, so it needs no atomics
//               and is deterministic. The host splits long index lists
//               into launches over [j0, j1) (llvmpipe stops an invocation
//               after 65535 loop iterations); they run in order.
// An index outside [0, n) sets the error buffer (err[0] = tag of the op,
// err[1] = the index, err[2] = its position; first writer wins) and the
// element is skipped (index_select writes 0); the host raises the error at
// the next sync.
//
// @variant index_select -DSELECT
// @variant index_add
#include "common.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

#ifdef SELECT
layout(std430, set = 0, binding = 0) writeonly buffer Out { uint o[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { uint x[]; };
#else
layout(std430, set = 0, binding = 0) buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
#endif
layout(std430, set = 0, binding = 2) readonly buffer Idx { int idx[]; };
layout(std430, set = 0, binding = 3) buffer Err { uint err[]; };

layout(push_constant) uniform P {
	uint outer, n, inner, k;
	uint x_off, idx_off, out_off, tag;
	uint j0, j1; // index_add: the slice of idx this launch adds
} p;

void report(int v, uint j) {
	if (atomicCompSwap(err[0], 0u, p.tag) == 0u) {
		err[1] = uint(v);
		err[2] = j;
	}
}

void main() {
	uint t = flat_index();
#ifdef SELECT
	if (t >= p.outer * p.k * p.inner) return;
	uint ii = t % p.inner, r = t / p.inner;
	uint j = r % p.k, ro = r / p.k;
	int v = idx[p.idx_off + j];
	if (v < 0 || v >= int(p.n)) {
		report(v, j);
		o[p.out_off + t] = 0u;
		return;
	}
	o[p.out_off + t] = x[p.x_off + (ro * p.n + uint(v)) * p.inner + ii];
#else
	if (t >= p.outer * p.inner) return;
	uint ii = t % p.inner, ro = t / p.inner;
	for (uint j = p.j0; j < p.j1; ++j) {
		int v = idx[p.idx_off + j];
		if (v < 0 || v >= int(p.n)) {
			report(v, j);
			continue;
		}
		o[p.out_off + (ro * p.n + uint(v)) * p.inner + ii] += x[p.x_off + (ro * p.k + j) * p.inner + ii];
	}
#endif
}
