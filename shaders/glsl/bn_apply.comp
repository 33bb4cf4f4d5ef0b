#version 450
// Batch-norm normalisation: out = (x - mean[c]) * invstd[c] * gamma[c] + beta[c]
// over dense [N, C, HW].
#include "common.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 2) readonly buffer Mean { float mean[]; };
layout(std430, set = 0, binding = 3) readonly buffer InvStd { float invstd[]; };
layout(std430, set = 0, binding = 4) readonly buffer Gamma { float gamma[]; };
layout(std430, set = 0, binding = 5) readonly buffer Beta { float beta[]; };

layout(push_constant) uniform P {
	uint total, C, HW, x_off;
	uint out_off, mean_off, istd_off, g_off;
	uint b_off, pad0, pad1, pad2;
} p;

void main() {
	uint i = flat_index();
	if (i >= p.total) return;
	uint c = (i / p.HW) % p.C;
	float scale = gamma[p.g_off + c] * invstd[p.istd_off + c];
	float shift = beta[p.b_off + c] - mean[p.mean_off + c] * scale;
	o[p.out_off + i] = fma(x[p.x_off + i], scale, shift);
}
