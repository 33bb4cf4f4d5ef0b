#version 450
// copy: out[strided] = x[strided] for rank <= 6, bitwise (float32 or int32).
#include "common.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer Out { uint o[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { uint x[]; };

layout(push_constant) uniform P {
	uint n, rank, out_off, x_off;
	uint shape[MAX_RANK];
	uint out_st[MAX_RANK];
	uint x_st[MAX_RANK];
} p;

void main() {
	uint i = flat_index();
	if (i >= p.n) return;
	uint oo = p.out_off, xo = p.x_off, r = i;
	for (int d = int(p.rank) - 1; d >= 0; --d) {
		uint c = r % p.shape[d];
		r /= p.shape[d];
		oo += c * p.out_st[d];
		xo += c * p.x_st[d];
	}
	o[oo] = x[xo];
}
