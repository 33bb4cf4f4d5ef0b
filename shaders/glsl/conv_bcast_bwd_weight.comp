#version 450
// conv_bcast_bwd_weight: convolution backward-weight as an implicit GEMM
// for CPU Vulkan drivers (llvmpipe), with the structure of mm_bcast.comp:
//   dw[co, ci, kh, kw] = sum_{n,oh,ow} dy[n, co, oh, ow] * x[n, ci, oh*SH-PH+kh, ow*SW-PW+kw]
// GEMM view: rows are (ci, kh, kw) (Cin*KH*KW), columns are the output
// channels co, K = N*OH*OW in steps of 4. A workgroup owns 8*G rows and
// WG*TC channels (channel j*WG + local id of its block); for each step,
// lane l of a subgroup gathers the 4 values of x of row 8*g + l%8 and
// subgroupBroadcast shares them; each invocation reads dy for its own
// channels:
//   conv_bcast_bwd_weight_dy4  one aligned vec4 of dy per channel and step
//                              (OH*OW and the dy offset multiples of 4)
//   conv_bcast_bwd_weight_dy1  four scalar loads (any shape)
// With several slices of K (kchunk < K, a multiple of 4), workgroup z
// writes the partial sums of slice z to out_off + z*Cout*Cin*KH*KW and the
// host adds them in a fixed order. Requirements as mm_bcast.comp.
//
// @variant conv_bcast_bwd_weight_dy4 -DDY4
// @variant conv_bcast_bwd_weight_dy1
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#include "common.glsl"

layout(local_size_x = 32, local_size_x_id = 0) in;
layout(constant_id = 1) const uint G = 2;  // groups of 8 rows per workgroup, 1..4
layout(constant_id = 2) const uint TC = 8; // channels per invocation, 1..8

layout(std430, set = 0, binding = 0) writeonly buffer DW { float dw[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
#ifdef DY4
layout(std430, set = 0, binding = 2) readonly buffer DY { vec4 dy4[]; };
#else
layout(std430, set = 0, binding = 2) readonly buffer DY { float dy[]; };
#endif

layout(push_constant) uniform P {
	uint N, Cin, H, W;
	uint Cout, KH, KW, SH;
	uint SW, PH, PW, OH;
	uint OW, x_off, dy_off, out_off;
	uint pad0, kchunk, gx0, gy0;
} p;

float acc[32][TC];
vec4 bq[TC];
vec4 av[4];

#define ROW(g, i) if (G > g) { \
	vec4 ai = subgroupBroadcast(av[g], i); \
	for (uint j = 0; j < TC; ++j) { \
		float s = acc[g * 8 + i][j]; \
		s = fma(ai.x, bq[j].x, s); \
		s = fma(ai.y, bq[j].y, s); \
		s = fma(ai.z, bq[j].z, s); \
		s = fma(ai.w, bq[j].w, s); \
		acc[g * 8 + i][j] = s; } }
#define GROUP(g) ROW(g, 0) ROW(g, 1) ROW(g, 2) ROW(g, 3) ROW(g, 4) ROW(g, 5) ROW(g, 6) ROW(g, 7)

void main() {
	uint hw = p.H * p.W;
	uint ohw = p.OH * p.OW;
	uint taps = p.KH * p.KW;
	uint nrow = p.Cin * taps;
	uint ktot = p.N * ohw;
	uint k0 = min(ktot, gl_WorkGroupID.z * p.kchunk);
	uint k1 = min(ktot, k0 + p.kchunk);
	uint rows = 8u * G;
	uint row0 = (gl_WorkGroupID.y + p.gy0) * rows;
	uint lane8 = gl_SubgroupInvocationID & 7u;
	uint xci[4];
	int gkh[4], gkw[4];
	for (uint g = 0; g < G; ++g) {
		uint r = min(row0 + g * 8u + lane8, nrow - 1u);
		uint ci = r / taps, t = r % taps;
		xci[g] = p.x_off + ci * hw;
		gkh[g] = int(t / p.KW) - int(p.PH);
		gkw[g] = int(t % p.KW) - int(p.PW);
	}
	uint co[TC], dyc[TC];
	for (uint j = 0; j < TC; ++j) {
		co[j] = (gl_WorkGroupID.x + p.gx0) * gl_WorkGroupSize.x * TC + j * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
		dyc[j] = p.dy_off + min(co[j], p.Cout - 1u) * ohw;
	}
	for (uint i = 0; i < rows; ++i)
		for (uint j = 0; j < TC; ++j) acc[i][j] = 0.0;

	// (n, oh, ow) of step k, advanced one step at a time.
	uint n = k0 / ohw, pp = k0 % ohw;
	uint oh = pp / p.OW, ow = pp % p.OW;
	for (uint k = k0; k < k1; k += 4u) {
		uint qn[4], qp[4];
		int qy[4], qx[4];
		bool qok[4];
		for (uint q = 0; q < 4u; ++q) {
			qn[q] = n;
			qp[q] = oh * p.OW + ow;
			qy[q] = int(oh * p.SH);
			qx[q] = int(ow * p.SW);
			qok[q] = k + q < k1;
			bool wrap = ow + 1u == p.OW;
			ow = wrap ? 0u : ow + 1u;
			bool wrap2 = wrap && oh + 1u == p.OH;
			oh = wrap2 ? 0u : (wrap ? oh + 1u : oh);
			n = wrap2 ? n + 1u : n;
		}
		for (uint j = 0; j < TC; ++j) {
#ifdef DY4
			bq[j] = dy4[(dyc[j] + qn[0] * p.Cout * ohw + qp[0]) / 4u];
#else
			vec4 v;
			for (uint q = 0; q < 4u; ++q) {
				uint nn = min(qn[q], p.N - 1u);
				v[q] = qok[q] ? dy[dyc[j] + nn * p.Cout * ohw + qp[q]] : 0.0;
			}
			bq[j] = v;
#endif
		}
		for (uint g = 0; g < G; ++g) {
			vec4 v;
			for (uint q = 0; q < 4u; ++q) {
				int ih = qy[q] + gkh[g], iw = qx[q] + gkw[g];
				bool ok = qok[q] && ih >= 0 && ih < int(p.H) && iw >= 0 && iw < int(p.W);
				uint nn = min(qn[q], p.N - 1u);
				float xv = x[ok ? xci[g] + nn * p.Cin * hw + uint(ih) * p.W + uint(iw) : xci[g]];
				v[q] = ok ? xv : 0.0;
			}
			av[g] = v;
		}
		GROUP(0) GROUP(1) GROUP(2) GROUP(3)
	}

	uint ob = p.out_off + gl_WorkGroupID.z * p.Cout * nrow;
	for (uint i = 0; i < rows; ++i) {
		uint r = row0 + i;
		if (r >= nrow) break;
		for (uint j = 0; j < TC; ++j)
			if (co[j] < p.Cout) dw[ob + co[j] * nrow + r] = acc[i][j];
	}
}
