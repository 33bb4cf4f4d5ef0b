#version 450
// conv2d backward weight as an implicit GEMM with an optional split of K:
//   dw[co, ci, kh, kw] = sum_{n,oh,ow} dy[n, co, oh, ow] * x[n, ci, oh*SH-PH+kh, ow*SW-PW+kw]
// GEMM view: rows = Cout, columns = Cin*KH*KW, K = N*OH*OW.
// Workgroup z handles K range [z*kchunk, (z+1)*kchunk) and writes its
// partial sums to out + z*Cout*Cin*KH*KW; the host sums the partials (in a
// fixed order, so the result is deterministic) when there is more than one.
#include "common.glsl"

layout(local_size_x = 16, local_size_y = 16, local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;

layout(std430, set = 0, binding = 0) writeonly buffer DW { float dw[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 2) readonly buffer DY { float dy[]; };

layout(push_constant) uniform P {
	uint N, Cin, H, W;
	uint Cout, KH, KW, SH;
	uint SW, PH, PW, OH;
	uint OW, x_off, dy_off, pad0;
	uint out_off, kchunk, gx0;
} p;

void main() {
	uint hw = p.H * p.W;
	uint ohw = p.OH * p.OW;
	uint kk = p.KH * p.KW;
	uint ncol = p.Cin * kk;
	uint ktot = p.N * ohw;
	uint k0 = gl_WorkGroupID.z * p.kchunk;
	uint k1 = min(k0 + p.kchunk, ktot);
	uint row0 = gl_WorkGroupID.y * gl_WorkGroupSize.y * TM + gl_LocalInvocationID.y;
	uint col0 = (gl_WorkGroupID.x + p.gx0) * gl_WorkGroupSize.x * TN + gl_LocalInvocationID.x;

	uint xc[TN];
	int kh_[TN], kw_[TN];
	bool cok[TN];
	for (uint j = 0; j < TN; ++j) {
		uint col = col0 + j * gl_WorkGroupSize.x;
		cok[j] = col < ncol;
		col = min(col, ncol - 1);
		uint ci = col / kk, r = col % kk;
		xc[j] = p.x_off + ci * hw;
		kh_[j] = int(r / p.KW) - int(p.PH);
		kw_[j] = int(r % p.KW) - int(p.PW);
	}
	uint dyc[TM];
	bool rok[TM];
	float acc[TM][TN];
	for (uint i = 0; i < TM; ++i) {
		uint co = row0 + i * gl_WorkGroupSize.y;
		rok[i] = co < p.Cout;
		dyc[i] = p.dy_off + min(co, p.Cout - 1) * ohw;
		for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;
	}
	if (k0 < k1) {
		uint n = k0 / ohw, r = k0 % ohw;
		uint oh = r / p.OW, ow = r % p.OW;
		for (uint k = k0; k < k1; ++k) {
			uint xn = n * p.Cin * hw;
			uint dn = n * p.Cout * ohw + oh * p.OW + ow;
			int ihb = int(oh * p.SH), iwb = int(ow * p.SW);
			float dv[TM];
			float xv[TN];
			for (uint i = 0; i < TM; ++i) dv[i] = dy[dyc[i] + dn];
			for (uint j = 0; j < TN; ++j) {
				int ih = ihb + kh_[j], iw = iwb + kw_[j];
				bool ok = ih >= 0 && ih < int(p.H) && iw >= 0 && iw < int(p.W);
				float v = x[ok ? xc[j] + xn + uint(ih) * p.W + uint(iw) : xc[j]];
				xv[j] = ok ? v : 0.0;
			}
			for (uint i = 0; i < TM; ++i)
				for (uint j = 0; j < TN; ++j) acc[i][j] = fma(dv[i], xv[j], acc[i][j]);
			if (++ow == p.OW) {
				ow = 0;
				if (++oh == p.OH) { oh = 0; ++n; }
			}
		}
	}
	uint ob = p.out_off + gl_WorkGroupID.z * p.Cout * ncol;
	for (uint i = 0; i < TM; ++i) {
		if (!rok[i]) continue;
		uint co = row0 + i * gl_WorkGroupSize.y;
		for (uint j = 0; j < TN; ++j) {
			if (cok[j]) dw[ob + co * ncol + col0 + j * gl_WorkGroupSize.x] = acc[i][j];
		}
	}
}
