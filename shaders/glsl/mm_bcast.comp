#version 450
// mm_bcast: C[b] = A[b] @ B[b] for strided operands, tuned for CPU Vulkan
// drivers (llvmpipe), where a storage-buffer load costs a loop over the
// SIMD lanes and shared memory is no faster: no shared memory, few loads
// per FMA.
//
// A workgroup computes 8*G rows of C (the same rows for every invocation)
// by WG*TC column units; an invocation owns TC column units of those rows.
// For each step of 4 along K, lane l of a subgroup loads the 4 values of
// row 8*g + l%8 of A (one row per lane), and subgroupBroadcast hands each
// row to every lane, so A costs one load per lane per 8 rows. B is read
// by each invocation for its own columns:
//   mm_bcast_b4n  B contiguous along N (b_sn = 1), a column unit is a vec4
//                 of 4 adjacent columns (N, offsets and b_sk multiples of 4)
//   mm_bcast_b4k  B contiguous along K (b_sk = 1), a vec4 holds 4 steps of
//                 K of one column (K, offsets and b_sn multiples of 4)
//   mm_bcast_b1   any strides, one column per unit
// Requirements checked by the host: the subgroup size is a multiple of 8
// and divides WG (broadcasts read lanes 0..7 of the invocation's own
// subgroup, which covers the same rows), G <= 4.
//
// Push constants, bindings and the split of K (ksplit > 1: workgroup z
// covers batch z / ksplit and K slice z % ksplit, written to
// c_off + slice*batch*M*N) are those of matmul.comp; slices are rounded to
// a multiple of 4 steps so vec4 loads stay aligned.
//
// @variant mm_bcast_b4n -DB4N
// @variant mm_bcast_b4k -DB4K
// @variant mm_bcast_b1
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#include "common.glsl"

layout(local_size_x = 32, local_size_x_id = 0) in;
layout(constant_id = 1) const uint G = 2;  // groups of 8 rows per workgroup, 1..4
layout(constant_id = 2) const uint TC = 2; // column units per invocation, 1..8

layout(std430, set = 0, binding = 0) writeonly buffer Cb { float c[]; };
layout(std430, set = 0, binding = 1) readonly buffer Ab { float a[]; };
#if defined(B4N) || defined(B4K)
layout(std430, set = 0, binding = 2) readonly buffer Bb { vec4 b4[]; };
#else
layout(std430, set = 0, binding = 2) readonly buffer Bb { float b[]; };
#endif

layout(push_constant) uniform P {
	uint M, N, K, z0;
	uint a_off, b_off, c_off, gx0;
	uint a_bs, a_sm, a_sk, gy0;
	uint b_bs, b_sk, b_sn, ksplit;
	uint batch;
} p;

#ifdef B4N
#define BT vec4
#define UNIT 4u
#else
#define BT float
#define UNIT 1u
#endif

BT acc[32][TC];
#ifdef B4K
vec4 bq[TC];      // bq[j][q]: step q of column j
#define BV(q, j) bq[j][q]
#else
BT bq[4][TC];     // bq[q][j]: step q of column unit j
#define BV(q, j) bq[q][j]
#endif
vec4 av[4];       // this lane's row of each group, 4 steps of K

// ROW(g, i) accumulates row 8g+i: its 4 values of A come from lane i.
#define ROW(g, i) if (G > g) { \
	vec4 ai = subgroupBroadcast(av[g], i); \
	for (uint j = 0; j < TC; ++j) { \
		BT s = acc[g * 8 + i][j]; \
		s = fma(BT(ai.x), BV(0, j), s); \
		s = fma(BT(ai.y), BV(1, j), s); \
		s = fma(BT(ai.z), BV(2, j), s); \
		s = fma(BT(ai.w), BV(3, j), s); \
		acc[g * 8 + i][j] = s; } }
#define GROUP(g) ROW(g, 0) ROW(g, 1) ROW(g, 2) ROW(g, 3) ROW(g, 4) ROW(g, 5) ROW(g, 6) ROW(g, 7)

void main() {
	uint zz = gl_WorkGroupID.z + p.z0;
	uint ks = max(p.ksplit, 1u);
	uint bz = zz / ks, slice = zz % ks;
	uint kchunk = ((p.K + ks - 1u) / ks + 3u) & ~3u;
	uint k0 = min(p.K, slice * kchunk), k1 = min(p.K, k0 + kchunk);
	uint rows = 8u * G;
	uint row0 = (gl_WorkGroupID.y + p.gy0) * rows;
	uint ab = p.a_off + bz * p.a_bs;
	uint bb = p.b_off + bz * p.b_bs;
	uint lane8 = gl_SubgroupInvocationID & 7u;
	uint arow[4];
	for (uint g = 0; g < G; ++g) arow[g] = ab + min(row0 + g * 8u + lane8, p.M - 1u) * p.a_sm;

	uint nunits = (p.N + UNIT - 1u) / UNIT;
	uint bcol[TC];
	uint unit[TC];
	for (uint j = 0; j < TC; ++j) {
#ifdef B4N
		unit[j] = ((gl_WorkGroupID.x + p.gx0) * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * TC + j;
		bcol[j] = bb / 4u + min(unit[j], nunits - 1u);
#else
		unit[j] = (gl_WorkGroupID.x + p.gx0) * gl_WorkGroupSize.x * TC + j * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
		bcol[j] = bb + min(unit[j], nunits - 1u) * p.b_sn;
#endif
	}
	for (uint i = 0; i < rows; ++i)
		for (uint j = 0; j < TC; ++j) acc[i][j] = BT(0.0);

	uint k = k0;
	for (; k + 4u <= k1; k += 4u) {
		for (uint j = 0; j < TC; ++j) {
#if defined(B4N)
			uint r = (k * p.b_sk) / 4u;
			uint st = p.b_sk / 4u;
			bq[0][j] = b4[bcol[j] + r];
			bq[1][j] = b4[bcol[j] + r + st];
			bq[2][j] = b4[bcol[j] + r + 2u * st];
			bq[3][j] = b4[bcol[j] + r + 3u * st];
#elif defined(B4K)
			bq[j] = b4[(bcol[j] + k) / 4u];
#else
			uint r = bcol[j] + k * p.b_sk;
			bq[0][j] = b[r];
			bq[1][j] = b[r + p.b_sk];
			bq[2][j] = b[r + 2u * p.b_sk];
			bq[3][j] = b[r + 3u * p.b_sk];
#endif
		}
		for (uint g = 0; g < G; ++g) {
			uint r = arow[g] + k * p.a_sk;
			av[g] = vec4(a[r], a[r + p.a_sk], a[r + 2u * p.a_sk], a[r + 3u * p.a_sk]);
		}
		GROUP(0) GROUP(1) GROUP(2) GROUP(3)
	}
#ifndef B4K
	// The last K % 4 steps (B4K requires K % 4 == 0), one at a time with
	// the other three steps zero.
	for (; k < k1; ++k) {
		for (uint j = 0; j < TC; ++j) {
#ifdef B4N
			bq[0][j] = b4[bcol[j] + (k * p.b_sk) / 4u];
#else
			bq[0][j] = b[bcol[j] + k * p.b_sk];
#endif
			bq[1][j] = BT(0.0);
			bq[2][j] = BT(0.0);
			bq[3][j] = BT(0.0);
		}
		for (uint g = 0; g < G; ++g) av[g] = vec4(a[arow[g] + k * p.a_sk], 0.0, 0.0, 0.0);
		GROUP(0) GROUP(1) GROUP(2) GROUP(3)
	}
#endif

	uint cb = p.c_off + (slice * p.batch + bz) * p.M * p.N;
	for (uint i = 0; i < rows; ++i) {
		uint r = row0 + i;
		if (r >= p.M) break;
		for (uint j = 0; j < TC; ++j) {
#ifdef B4N
			uint col = unit[j] * 4u;
			for (uint q = 0; q < 4u; ++q)
				if (col + q < p.N) c[cb + r * p.N + col + q] = acc[i][j][q];
#else
			if (unit[j] < p.N) c[cb + r * p.N + unit[j]] = acc[i][j];
#endif
		}
	}
}
