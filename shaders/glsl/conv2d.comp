#version 450
// conv2d forward as an implicit GEMM (no im2col buffer):
//   out[n, co, oh, ow] = bias[co] + sum_{ci,kh,kw} w[co, ci, kh, kw] * x[n, ci, oh*SH-PH+kh, ow*SW-PW+kw]
// GEMM view: rows = Cout, columns = N*OH*OW output pixels, K = Cin*KH*KW.
// Each invocation computes TM output channels x TN pixels (register
// blocking, interleaved by the workgroup size). All tensors dense NCHW.
#include "common.glsl"

layout(local_size_x = 16, local_size_y = 16, local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;

layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 2) readonly buffer Wt { float w[]; };
layout(std430, set = 0, binding = 3) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform P {
	uint N, Cin, H, W;
	uint Cout, KH, KW, SH;
	uint SW, PH, PW, OH;
	uint OW, x_off, w_off, b_off;
	uint out_off, has_bias, gx0;
} p;

void main() {
	uint npix = p.N * p.OH * p.OW;
	uint ohw = p.OH * p.OW;
	uint hw = p.H * p.W;
	uint kk = p.Cin * p.KH * p.KW;
	uint row0 = gl_WorkGroupID.y * gl_WorkGroupSize.y * TM + gl_LocalInvocationID.y;
	uint col0 = (gl_WorkGroupID.x + p.gx0) * gl_WorkGroupSize.x * TN + gl_LocalInvocationID.x;

	uint xb[TN], pn[TN], pr[TN];
	int ih0[TN], iw0[TN];
	bool cok[TN];
	for (uint j = 0; j < TN; ++j) {
		uint pix = col0 + j * gl_WorkGroupSize.x;
		cok[j] = pix < npix;
		pix = min(pix, npix - 1);
		pn[j] = pix / ohw;
		pr[j] = pix % ohw;
		xb[j] = p.x_off + pn[j] * p.Cin * hw;
		ih0[j] = int((pr[j] / p.OW) * p.SH) - int(p.PH);
		iw0[j] = int((pr[j] % p.OW) * p.SW) - int(p.PW);
	}
	uint wrow[TM];
	bool rok[TM];
	float acc[TM][TN];
	for (uint i = 0; i < TM; ++i) {
		uint co = row0 + i * gl_WorkGroupSize.y;
		rok[i] = co < p.Cout;
		wrow[i] = p.w_off + min(co, p.Cout - 1) * kk;
		for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;
	}
	for (uint kh = 0; kh < p.KH; ++kh) {
		for (uint kw = 0; kw < p.KW; ++kw) {
			uint xoff[TN];
			bool ok[TN];
			for (uint j = 0; j < TN; ++j) {
				int ih = ih0[j] + int(kh), iw = iw0[j] + int(kw);
				ok[j] = ih >= 0 && ih < int(p.H) && iw >= 0 && iw < int(p.W);
				xoff[j] = ok[j] ? xb[j] + uint(ih) * p.W + uint(iw) : xb[j];
			}
			uint kidx = kh * p.KW + kw;
			for (uint ci = 0; ci < p.Cin; ++ci) {
				float xv[TN];
				float wv[TM];
				for (uint j = 0; j < TN; ++j) {
					float v = x[xoff[j] + ci * hw];
					xv[j] = ok[j] ? v : 0.0;
				}
				uint kc = ci * p.KH * p.KW + kidx;
				for (uint i = 0; i < TM; ++i) wv[i] = w[wrow[i] + kc];
				for (uint i = 0; i < TM; ++i)
					for (uint j = 0; j < TN; ++j) acc[i][j] = fma(wv[i], xv[j], acc[i][j]);
			}
		}
	}
	for (uint i = 0; i < TM; ++i) {
		if (!rok[i]) continue;
		uint co = row0 + i * gl_WorkGroupSize.y;
		float bv = p.has_bias != 0u ? bias[p.b_off + co] : 0.0;
		for (uint j = 0; j < TN; ++j) {
			if (cok[j]) o[p.out_off + (pn[j] * p.Cout + co) * ohw + pr[j]] = acc[i][j] + bv;
		}
	}
}
