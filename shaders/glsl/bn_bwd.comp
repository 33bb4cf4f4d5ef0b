#version 450
// Batch-norm backward (training statistics) over dense [N, C, HW]:
//   bn_bwd_stats  one workgroup per channel: dbeta = sum dy,
//                 dgamma = sum dy * xhat, xhat = (x - mean) * invstd
//   bn_bwd_apply  dx = gamma*invstd/M * (M*dy - dbeta - xhat*dgamma), M = N*HW
//
// @variant bn_bwd_stats -DSTATS
// @variant bn_bwd_apply
#include "common.glsl"

#ifdef STATS
layout(local_size_x = 128, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer DG { float dgamma[]; };
layout(std430, set = 0, binding = 1) writeonly buffer DB { float dbeta[]; };
layout(std430, set = 0, binding = 2) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 3) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 4) readonly buffer Mean { float mean[]; };
layout(std430, set = 0, binding = 5) readonly buffer InvStd { float invstd[]; };

layout(push_constant) uniform P {
	uint N, C, HW, pad0;
	uint dy_off, x_off, mean_off, istd_off;
	uint dg_off, db_off, pad1, pad2;
} p;

shared float s1[gl_WorkGroupSize.x];
shared float s2[gl_WorkGroupSize.x];

void main() {
	uint c = flat_group();
	if (c >= p.C) return;
	uint lid = gl_LocalInvocationID.x;
	float mu = mean[p.mean_off + c], is = invstd[p.istd_off + c];
	uint cnt = p.N * p.HW;
	float a = 0.0, b = 0.0;
	for (uint j = lid; j < cnt; j += gl_WorkGroupSize.x) {
		uint off = ((j / p.HW) * p.C + c) * p.HW + j % p.HW;
		float g = dy[p.dy_off + off];
		a += g;
		b += g * (x[p.x_off + off] - mu) * is;
	}
	s1[lid] = a;
	s2[lid] = b;
	barrier();
	for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
		if (lid < s) {
			s1[lid] += s1[lid + s];
			s2[lid] += s2[lid + s];
		}
		barrier();
	}
	if (lid == 0) {
		dbeta[p.db_off + c] = s1[0];
		dgamma[p.dg_off + c] = s2[0];
	}
}

#else

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 2) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 3) readonly buffer Gamma { float gamma[]; };
layout(std430, set = 0, binding = 4) readonly buffer Mean { float mean[]; };
layout(std430, set = 0, binding = 5) readonly buffer InvStd { float invstd[]; };
layout(std430, set = 0, binding = 6) readonly buffer DG { float dgamma[]; };
layout(std430, set = 0, binding = 7) readonly buffer DB { float dbeta[]; };

layout(push_constant) uniform P {
	uint total, C, HW, pad0;
	uint dx_off, dy_off, x_off, g_off;
	uint mean_off, istd_off, dg_off, db_off;
} p;

void main() {
	uint i = flat_index();
	if (i >= p.total) return;
	uint c = (i / p.HW) % p.C;
	float cnt = float(p.total / p.C);
	float is = invstd[p.istd_off + c];
	float xh = (x[p.x_off + i] - mean[p.mean_off + c]) * is;
	float k = gamma[p.g_off + c] * is / cnt;
	dx[p.dx_off + i] = k * (cnt * dy[p.dy_off + i] - dbeta[p.db_off + c] - xh * dgamma[p.dg_off + c]);
}

#endif
