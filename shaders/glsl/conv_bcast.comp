#version 450
// conv_bcast: convolution forward and backward-data as implicit GEMMs for
// CPU Vulkan drivers (llvmpipe), with the structure of mm_bcast.comp: no
// shared memory, A rows broadcast across the subgroup, B read as vec4 by
// each invocation for its own columns. No im2col buffer.
//
//   conv_bcast_fwd       out[n,co,oh,ow] = bias[co] + sum_{kh,kw,ci} x[n,ci,ih,iw] * w[co,ci,kh,kw]
//                        with ih = oh*SH-PH+kh, iw = ow*SW-PW+kw (zero outside x)
//   conv_bcast_bwd_data  dx[n,ci,ih,iw] = sum_{kh,kw,co} dy[n,co,oh,ow] * w[co,ci,kh,kw]
//                        over oh*SH = ih+PH-kh, ow*SW = iw+PW-kw inside dy
//
// GEMM view: rows are pixels (of out, or of dx), columns are the output
// channels (C = Cout, or Cin), K runs over the taps (kh, kw) and, inside,
// the reduced channels (CK = Cin, or Cout) in steps of 4. A workgroup owns
// 8*G pixels and WG*TC units of 4 channels; for each step lane l of a
// subgroup gathers the values of pixel 8*g + l%8 and subgroupBroadcast
// shares them. B is the weight tensor repacked by conv_pack.comp as
// wp[(tap*CK + c)*C4 + unit] (vec4 units of 4 output channels, zero
// padded), so its loads are aligned vec4s.
//
// Requirements checked by the host: subgroup size a multiple of 8 that
// divides WG, G <= 4, fewer than 2^32 elements per tensor.
//
// @variant conv_bcast_fwd -DFWD
// @variant conv_bcast_bwd_data -DBWD_DATA
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#include "common.glsl"

layout(local_size_x = 32, local_size_x_id = 0) in;
layout(constant_id = 1) const uint G = 2;  // groups of 8 pixels per workgroup, 1..4
layout(constant_id = 2) const uint TC = 2; // vec4 channel units per invocation, 1..4

layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) readonly buffer Src { float src[]; };
layout(std430, set = 0, binding = 2) readonly buffer WP { vec4 wp[]; };
#ifdef FWD
layout(std430, set = 0, binding = 3) readonly buffer Bias { float bias[]; };
#endif

layout(push_constant) uniform P {
	uint N, Cin, H, W;
	uint Cout, KH, KW, SH;
	uint SW, PH, PW, OH;
	uint OW, src_off, wp_off, out_off;
	uint bias_off, has_bias, gx0, gy0;
} p;

vec4 acc[32][TC];
vec4 bq[4][TC];
vec4 av[4];
uint sbase[4]; // per group: this lane's pixel's image base in src
int py[4], px[4];

#define ROW(g, i) if (G > g) { \
	vec4 ai = subgroupBroadcast(av[g], i); \
	for (uint j = 0; j < TC; ++j) { \
		vec4 s = acc[g * 8 + i][j]; \
		s = fma(vec4(ai.x), bq[0][j], s); \
		s = fma(vec4(ai.y), bq[1][j], s); \
		s = fma(vec4(ai.z), bq[2][j], s); \
		s = fma(vec4(ai.w), bq[3][j], s); \
		acc[g * 8 + i][j] = s; } }
#define GROUP(g) ROW(g, 0) ROW(g, 1) ROW(g, 2) ROW(g, 3) ROW(g, 4) ROW(g, 5) ROW(g, 6) ROW(g, 7)

void main() {
#ifdef FWD
	uint C = p.Cout, CK = p.Cin;
	uint PY = p.OH, PX = p.OW;   // pixel grid of the output rows
	uint SY = p.H, SX = p.W;     // plane of src (x)
#else
	uint C = p.Cin, CK = p.Cout;
	uint PY = p.H, PX = p.W;
	uint SY = p.OH, SX = p.OW;   // plane of src (dy)
#endif
	uint plane = SY * SX;
	uint npix = p.N * PY * PX;
	uint C4 = (C + 3u) / 4u;
	uint rows = 8u * G;
	uint row0 = (gl_WorkGroupID.y + p.gy0) * rows;
	uint lane8 = gl_SubgroupInvocationID & 7u;
	for (uint g = 0; g < G; ++g) {
		uint pix = min(row0 + g * 8u + lane8, npix - 1u);
		uint n = pix / (PY * PX), r = pix % (PY * PX);
		sbase[g] = p.src_off + n * CK * plane;
		py[g] = int(r / PX);
		px[g] = int(r % PX);
	}
	uint unit[TC];
	for (uint j = 0; j < TC; ++j)
		unit[j] = ((gl_WorkGroupID.x + p.gx0) * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * TC + j;
	for (uint i = 0; i < rows; ++i)
		for (uint j = 0; j < TC; ++j) acc[i][j] = vec4(0.0);

	for (uint kh = 0; kh < p.KH; ++kh) {
		for (uint kw = 0; kw < p.KW; ++kw) {
			// This lane's source pixel of each group at this tap.
			uint soff[4];
			bool ok[4];
			for (uint g = 0; g < G; ++g) {
#ifdef FWD
				int sy = py[g] * int(p.SH) - int(p.PH) + int(kh);
				int sx = px[g] * int(p.SW) - int(p.PW) + int(kw);
				ok[g] = sy >= 0 && sy < int(SY) && sx >= 0 && sx < int(SX);
#else
				int ty = py[g] + int(p.PH) - int(kh);
				int tx = px[g] + int(p.PW) - int(kw);
				int sy = ty / int(p.SH), sx = tx / int(p.SW);
				ok[g] = ty >= 0 && tx >= 0 && ty % int(p.SH) == 0 && tx % int(p.SW) == 0 && sy < int(SY) && sx < int(SX);
#endif
				soff[g] = ok[g] ? sbase[g] + uint(sy) * SX + uint(sx) : sbase[g];
			}
			uint tap = kh * p.KW + kw;
			uint wrow = p.wp_off / 4u + tap * CK * C4;
			uint bcol[TC];
			for (uint j = 0; j < TC; ++j) bcol[j] = wrow + min(unit[j], C4 - 1u);
			uint c = 0;
			for (; c + 4u <= CK; c += 4u) {
				for (uint j = 0; j < TC; ++j) {
					uint r = bcol[j] + c * C4;
					bq[0][j] = wp[r];
					bq[1][j] = wp[r + C4];
					bq[2][j] = wp[r + 2u * C4];
					bq[3][j] = wp[r + 3u * C4];
				}
				for (uint g = 0; g < G; ++g) {
					uint s = soff[g] + c * plane;
					vec4 v = vec4(src[s], src[s + plane], src[s + 2u * plane], src[s + 3u * plane]);
					av[g] = ok[g] ? v : vec4(0.0);
				}
				GROUP(0) GROUP(1) GROUP(2) GROUP(3)
			}
			for (; c < CK; ++c) {
				for (uint j = 0; j < TC; ++j) {
					bq[0][j] = wp[bcol[j] + c * C4];
					bq[1][j] = vec4(0.0);
					bq[2][j] = vec4(0.0);
					bq[3][j] = vec4(0.0);
				}
				for (uint g = 0; g < G; ++g) av[g] = vec4(ok[g] ? src[soff[g] + c * plane] : 0.0, 0.0, 0.0, 0.0);
				GROUP(0) GROUP(1) GROUP(2) GROUP(3)
			}
		}
	}

	uint pplane = PY * PX;
	for (uint i = 0; i < rows; ++i) {
		uint pix = row0 + i;
		if (pix >= npix) break;
		uint n = pix / pplane, r = pix % pplane;
		uint ob = p.out_off + n * C * pplane + r;
		for (uint j = 0; j < TC; ++j) {
			for (uint q = 0; q < 4u; ++q) {
				uint ch = unit[j] * 4u + q;
				if (ch >= C) break;
				float v = acc[i][j][q];
#ifdef FWD
				if (p.has_bias != 0u) v += bias[p.bias_off + ch];
#endif
				o[ob + ch * pplane] = v;
			}
		}
	}
}
