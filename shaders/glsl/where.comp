#version 450
// where: out (dense) = cond != 0 ? a : b, all three strided.
#include "common.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) readonly buffer C { float c[]; };
layout(std430, set = 0, binding = 2) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 3) readonly buffer B { float b[]; };

layout(push_constant) uniform P {
	uint n, rank, out_off, c_off;
	uint a_off, b_off, pad0, pad1;
	uint shape[MAX_RANK];
	uint c_st[MAX_RANK];
	uint a_st[MAX_RANK];
	uint b_st[MAX_RANK];
} p;

void main() {
	uint i = flat_index();
	if (i >= p.n) return;
	uint co = p.c_off, ao = p.a_off, bo = p.b_off, r = i;
	for (int d = int(p.rank) - 1; d >= 0; --d) {
		uint k = r % p.shape[d];
		r /= p.shape[d];
		co += k * p.c_st[d];
		ao += k * p.a_st[d];
		bo += k * p.b_st[d];
	}
	o[p.out_off + i] = c[co] != 0.0 ? a[ao] : b[bo];
}
