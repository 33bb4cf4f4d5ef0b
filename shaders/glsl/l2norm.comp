#version 450
// L2 normalisation of the rows of a dense x [rows, d]:
//   out = x / sqrt(sum x^2 + eps), one workgroup per row (tree reduction).
#include "common.glsl"

layout(local_size_x = 64, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };

layout(push_constant) uniform P {
	uint rows, d, x_off, out_off;
	float eps;
} p;

shared float sh[gl_WorkGroupSize.x];

void main() {
	uint row = flat_group();
	if (row >= p.rows) return;
	uint lid = gl_LocalInvocationID.x;
	uint xb = p.x_off + row * p.d, ob = p.out_off + row * p.d;
	float s = 0.0;
	for (uint j = lid; j < p.d; j += gl_WorkGroupSize.x) {
		float v = x[xb + j];
		s = fma(v, v, s);
	}
	sh[lid] = s;
	barrier();
	for (uint k = gl_WorkGroupSize.x / 2; k > 0; k >>= 1) {
		if (lid < k) sh[lid] += sh[lid + k];
		barrier();
	}
	float inv = 1.0 / sqrt(sh[0] + p.eps);
	for (uint j = lid; j < p.d; j += gl_WorkGroupSize.x) o[ob + j] = x[xb + j] * inv;
}
