#version 450
// mm_tiled: C[b] = A[b] @ B[b] for strided operands, the shared-memory
// tiled kernel for GPUs. A workgroup of TX x TY invocations computes a
// BM x BN tile of C (BM = TY*TM, BN = TX*TN); for each BK-deep slice of K
// it stages the A and B sub-tiles in shared memory (all invocations load,
// bounds-checked, zero outside), then each invocation accumulates a
// TM x TN register block with its rows and columns interleaved by TY and
// TX (conflict-free shared reads). Tile sizes are specialization
// constants; the host keeps (BM + BN) * BK * 4 bytes within
// maxComputeSharedMemorySize. Nothing assumes a subgroup size.
//
// Push constants, bindings and the split of K (ksplit > 1: workgroup z
// covers batch z / ksplit and K slice z % ksplit, written to
// c_off + slice*batch*M*N) are those of matmul.comp.
#include "common.glsl"

layout(local_size_x = 16, local_size_y = 16, local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;
layout(constant_id = 4) const uint BK = 16;

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

const uint TX = gl_WorkGroupSize.x, TY = gl_WorkGroupSize.y;
const uint BM = TY * TM, BN = TX * TN;
shared float As[BK * BM]; // As[kk * BM + row]
shared float Bs[BK * BN]; // Bs[kk * BN + col]

void main() {
	uint zz = gl_WorkGroupID.z + p.z0;
	uint ks = max(p.ksplit, 1u);
	uint bz = zz / ks, slice = zz % ks;
	uint kchunk = (p.K + ks - 1u) / ks;
	uint k0 = min(p.K, slice * kchunk), k1 = min(p.K, k0 + kchunk);
	uint tileR = (gl_WorkGroupID.y + p.gy0) * BM;
	uint tileC = (gl_WorkGroupID.x + p.gx0) * BN;
	uint tid = gl_LocalInvocationID.y * TX + gl_LocalInvocationID.x;
	uint nthreads = TX * TY;
	uint ab = p.a_off + bz * p.a_bs;
	uint bb = p.b_off + bz * p.b_bs;

	float acc[TM][TN];
	for (uint i = 0; i < TM; ++i)
		for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

	for (uint kt = k0; kt < k1; kt += BK) {
		// Stage A[tileR .. +BM][kt .. +BK] and B[kt .. +BK][tileC .. +BN].
		for (uint e = tid; e < BM * BK; e += nthreads) {
			uint row = e % BM, kk = e / BM;
			uint gr = tileR + row, gk = kt + kk;
			As[kk * BM + row] = (gr < p.M && gk < k1) ? a[ab + gr * p.a_sm + gk * p.a_sk] : 0.0;
		}
		for (uint e = tid; e < BN * BK; e += nthreads) {
			uint col = e % BN, kk = e / BN;
			uint gc = tileC + col, gk = kt + kk;
			Bs[kk * BN + col] = (gc < p.N && gk < k1) ? b[bb + gk * p.b_sk + gc * p.b_sn] : 0.0;
		}
		barrier();
		for (uint kk = 0; kk < BK; ++kk) {
			float av[TM], bv[TN];
			for (uint i = 0; i < TM; ++i) av[i] = As[kk * BM + gl_LocalInvocationID.y + i * TY];
			for (uint j = 0; j < TN; ++j) bv[j] = Bs[kk * BN + gl_LocalInvocationID.x + j * TX];
			for (uint i = 0; i < TM; ++i)
				for (uint j = 0; j < TN; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
		}
		barrier();
	}

	uint cb = p.c_off + (slice * p.batch + bz) * p.M * p.N;
	for (uint i = 0; i < TM; ++i) {
		uint r = tileR + gl_LocalInvocationID.y + i * TY;
		if (r >= p.M) continue;
		for (uint j = 0; j < TN; ++j) {
			uint col = tileC + gl_LocalInvocationID.x + j * TX;
			if (col < p.N) c[cb + r * p.N + col] = acc[i][j];
		}
	}
}
