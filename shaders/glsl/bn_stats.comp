#version 450
// Batch-norm statistics of x [N, C, HW], one workgroup per channel.
// Training: two-pass mean and biased variance (shared-memory tree), writes
// mean and invstd = 1/sqrt(var+eps) and updates the running statistics
// (running variance from the unbiased estimate). Eval: mean and invstd from
// the running statistics.
#include "common.glsl"

layout(local_size_x = 128, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Mean { float mean[]; };
layout(std430, set = 0, binding = 2) writeonly buffer InvStd { float invstd[]; };
layout(std430, set = 0, binding = 3) buffer RunMean { float rmean[]; };
layout(std430, set = 0, binding = 4) buffer RunVar { float rvar[]; };

layout(push_constant) uniform P {
	uint N, C, HW, training;
	uint x_off, mean_off, istd_off, rm_off;
	uint rv_off;
	float eps, momentum;
	uint pad0;
} p;

shared float sh[gl_WorkGroupSize.x];

float tree_sum(float v) {
	uint lid = gl_LocalInvocationID.x;
	sh[lid] = v;
	barrier();
	for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
		if (lid < s) sh[lid] += sh[lid + s];
		barrier();
	}
	float r = sh[0];
	barrier();
	return r;
}

void main() {
	uint c = flat_group();
	if (c >= p.C) return;
	uint lid = gl_LocalInvocationID.x;
	if (p.training == 0u) {
		if (lid == 0) {
			mean[p.mean_off + c] = rmean[p.rm_off + c];
			invstd[p.istd_off + c] = 1.0 / sqrt(rvar[p.rv_off + c] + p.eps);
		}
		return;
	}
	uint cnt = p.N * p.HW;
	float s = 0.0;
	for (uint j = lid; j < cnt; j += gl_WorkGroupSize.x) {
		uint n = j / p.HW, k = j % p.HW;
		s += x[p.x_off + (n * p.C + c) * p.HW + k];
	}
	float mu = tree_sum(s) / float(cnt);
	float q = 0.0;
	for (uint j = lid; j < cnt; j += gl_WorkGroupSize.x) {
		uint n = j / p.HW, k = j % p.HW;
		float d = x[p.x_off + (n * p.C + c) * p.HW + k] - mu;
		q += d * d;
	}
	float var = tree_sum(q) / float(cnt);
	if (lid == 0) {
		mean[p.mean_off + c] = mu;
		invstd[p.istd_off + c] = 1.0 / sqrt(var + p.eps);
		float m = p.momentum;
		rmean[p.rm_off + c] = (1.0 - m) * rmean[p.rm_off + c] + m * mu;
		rvar[p.rv_off + c] = (1.0 - m) * rvar[p.rv_off + c] + m * var * float(cnt) / float(cnt - 1u);
	}
}
