#version 450
// matmul: C[b] = A[b] @ B[b] for a batch of strided operands.
//
// With ksplit > 1 the K range is cut into ksplit slices: workgroup z covers
// batch z / ksplit and slice z % ksplit, and writes its partial product to
// c_off + slice*batch*M*N (the host sums the slices in a fixed order). This
// bounds the loop length per invocation (llvmpipe stops any invocation after
// 65535 loop iterations).
//
// A element (m, k) of batch b is at a_off + b*a_bs + m*a_sm + k*a_sk, so a
// transposed operand is just swapped strides and a broadcast batch has
// a_bs = 0. C is dense [batch, M, N] from c_off.
//
// Register-blocked: each invocation computes a TM x TN block of C with its
// rows and columns interleaved by the workgroup size (coalesced loads on
// GPUs); no shared memory. Tile sizes are specialization constants. Grids
// larger than maxComputeWorkGroupCount are split by the host: gx0, gy0 and z0
// offset the workgroup ids of one launch.
#include "common.glsl"

layout(local_size_x = 16, local_size_y = 16, local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;

layout(std430, set = 0, binding = 0) writeonly buffer Cb { float c[]; };
layout(std430, set = 0, binding = 1) readonly buffer Ab { float a[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bb { float b[]; };

layout(push_constant) uniform P {
	uint M, N, K, z0;
	uint a_off, b_off, c_off, gx0;
	uint a_bs, a_sm, a_sk, gy0;
	uint b_bs, b_sk, b_sn, ksplit;
	uint batch;
} p;

void main() {
	uint zz = gl_WorkGroupID.z + p.z0;
	uint ks = max(p.ksplit, 1u);
	uint bz = zz / ks, slice = zz % ks;
	uint kchunk = (p.K + ks - 1u) / ks;
	uint k0 = slice * kchunk, k1 = min(p.K, k0 + kchunk);
	uint row0 = (gl_WorkGroupID.y + p.gy0) * gl_WorkGroupSize.y * TM + gl_LocalInvocationID.y;
	uint col0 = (gl_WorkGroupID.x + p.gx0) * gl_WorkGroupSize.x * TN + gl_LocalInvocationID.x;
	uint ab = p.a_off + bz * p.a_bs;
	uint bb = p.b_off + bz * p.b_bs;

	float acc[TM][TN];
	uint arow[TM];
	bool rok[TM];
	for (uint i = 0; i < TM; ++i) {
		uint r = row0 + i * gl_WorkGroupSize.y;
		rok[i] = r < p.M;
		arow[i] = ab + min(r, p.M - 1) * p.a_sm;
		for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;
	}
	uint bcol[TN];
	bool cok[TN];
	for (uint j = 0; j < TN; ++j) {
		uint cidx = col0 + j * gl_WorkGroupSize.x;
		cok[j] = cidx < p.N;
		bcol[j] = bb + min(cidx, p.N - 1) * p.b_sn;
	}
	for (uint k = k0; k < k1; ++k) {
		float av[TM];
		float bv[TN];
		for (uint i = 0; i < TM; ++i) av[i] = a[arow[i] + k * p.a_sk];
		for (uint j = 0; j < TN; ++j) bv[j] = b[bcol[j] + k * p.b_sk];
		for (uint i = 0; i < TM; ++i)
			for (uint j = 0; j < TN; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
	}
	uint cb = p.c_off + (slice * p.batch + bz) * p.M * p.N;
	for (uint i = 0; i < TM; ++i) {
		if (!rok[i]) continue;
		uint r = row0 + i * gl_WorkGroupSize.y;
		for (uint j = 0; j < TN; ++j) {
			if (cok[j]) c[cb + r * p.N + col0 + j * gl_WorkGroupSize.x] = acc[i][j];
		}
	}
}
