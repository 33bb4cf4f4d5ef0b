#version 450
// conv2d backward data as an implicit GEMM:
//   dx[n, ci, h, w] = sum_{co,kh,kw} w[co, ci, kh, kw] * dy[n, co, oh, ow]
//   where h = oh*SH - PH + kh and w = ow*SW - PW + kw.
// GEMM view: rows = Cin, columns = N*H*W input pixels, K = Cout*KH*KW.
// Each invocation computes TM input channels x TN pixels. dx is overwritten.
#include "common.glsl"

layout(local_size_x = 16, local_size_y = 16, local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;

layout(std430, set = 0, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 2) readonly buffer Wt { float w[]; };

layout(push_constant) uniform P {
	uint N, Cin, H, W;
	uint Cout, KH, KW, SH;
	uint SW, PH, PW, OH;
	uint OW, dy_off, w_off, pad0;
	uint dx_off, pad1, gx0;
} p;

void main() {
	uint hw = p.H * p.W;
	uint npix = p.N * hw;
	uint ohw = p.OH * p.OW;
	uint kk = p.KH * p.KW;
	uint row0 = gl_WorkGroupID.y * gl_WorkGroupSize.y * TM + gl_LocalInvocationID.y;
	uint col0 = (gl_WorkGroupID.x + p.gx0) * gl_WorkGroupSize.x * TN + gl_LocalInvocationID.x;

	uint dyb[TN], pn[TN], pr[TN];
	int th0[TN], tw0[TN];
	bool cok[TN];
	for (uint j = 0; j < TN; ++j) {
		uint pix = col0 + j * gl_WorkGroupSize.x;
		cok[j] = pix < npix;
		pix = min(pix, npix - 1);
		pn[j] = pix / hw;
		pr[j] = pix % hw;
		dyb[j] = p.dy_off + pn[j] * p.Cout * ohw;
		th0[j] = int(pr[j] / p.W) + int(p.PH);
		tw0[j] = int(pr[j] % p.W) + int(p.PW);
	}
	uint wci[TM];
	bool rok[TM];
	float acc[TM][TN];
	for (uint i = 0; i < TM; ++i) {
		uint ci = row0 + i * gl_WorkGroupSize.y;
		rok[i] = ci < p.Cin;
		wci[i] = p.w_off + min(ci, p.Cin - 1) * kk;
		for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;
	}
	for (uint kh = 0; kh < p.KH; ++kh) {
		for (uint kw = 0; kw < p.KW; ++kw) {
			uint doff[TN];
			bool ok[TN];
			for (uint j = 0; j < TN; ++j) {
				int th = th0[j] - int(kh), tw = tw0[j] - int(kw);
				bool v = th >= 0 && tw >= 0;
				uint oh = uint(max(th, 0)) / p.SH, ow = uint(max(tw, 0)) / p.SW;
				v = v && uint(th) == oh * p.SH && uint(tw) == ow * p.SW && oh < p.OH && ow < p.OW;
				ok[j] = v;
				doff[j] = v ? dyb[j] + oh * p.OW + ow : dyb[j];
			}
			uint kidx = kh * p.KW + kw;
			for (uint co = 0; co < p.Cout; ++co) {
				float dv[TN];
				float wv[TM];
				for (uint j = 0; j < TN; ++j) {
					float v = dy[doff[j] + co * ohw];
					dv[j] = ok[j] ? v : 0.0;
				}
				uint wc = co * p.Cin * kk + kidx;
				for (uint i = 0; i < TM; ++i) wv[i] = w[wci[i] + wc];
				for (uint i = 0; i < TM; ++i)
					for (uint j = 0; j < TN; ++j) acc[i][j] = fma(wv[i], dv[j], acc[i][j]);
			}
		}
	}
	for (uint i = 0; i < TM; ++i) {
		if (!rok[i]) continue;
		uint ci = row0 + i * gl_WorkGroupSize.y;
		for (uint j = 0; j < TN; ++j) {
			if (cok[j]) dx[p.dx_off + (pn[j] * p.Cin + ci) * hw + pr[j]] = acc[i][j];
		}
	}
}
