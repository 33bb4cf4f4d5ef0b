#version 450
// 2-D pooling over dense NCHW planes, forward and backward.
//
// maxpool      out = max over the window, idx = h*W+w of the first maximum
//              (padding never wins; the first NaN wins)
// maxpool_bwd  dx[h,w] = sum of dy over the windows whose idx is (h,w),
//              gathered per dx element in output order (no atomics)
// avgpool      out = window sum / (KH*KW) (padding counted)
// avgpool_bwd  dx[h,w] = sum over covering windows of dy / (KH*KW)
//
// @variant maxpool -DMAXPOOL
// @variant maxpool_bwd -DMAXPOOL -DBWD
// @variant avgpool
// @variant avgpool_bwd -DBWD
#include "common.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(push_constant) uniform P {
	uint N, C, H, W;
	uint KH, KW, SH, SW;
	uint PH, PW, OH, OW;
	uint in_off, out_off, idx_off, pad0;
} p;

#if defined(MAXPOOL) && !defined(BWD)
layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Idx { int idx[]; };
layout(std430, set = 0, binding = 2) readonly buffer X { float x[]; };
#elif defined(MAXPOOL)
layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { float x[]; };
layout(std430, set = 0, binding = 2) readonly buffer Idx { int idx[]; };
#else
layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
#endif

void main() {
	uint i = flat_index();
#ifndef BWD
	uint ohw = p.OH * p.OW;
	if (i >= p.N * p.C * ohw) return;
	uint plane = i / ohw, r = i % ohw;
	int h0 = int((r / p.OW) * p.SH) - int(p.PH);
	int w0 = int((r % p.OW) * p.SW) - int(p.PW);
	uint xb = p.in_off + plane * p.H * p.W;
	int hs = max(h0, 0), he = min(h0 + int(p.KH), int(p.H));
	int ws = max(w0, 0), we = min(w0 + int(p.KW), int(p.W));
#ifdef MAXPOOL
	float best = 0.0;
	int arg = -1;
	for (int h = hs; h < he; ++h) {
		for (int w = ws; w < we; ++w) {
			float v = x[xb + uint(h) * p.W + uint(w)];
			if (arg < 0 || v > best || (isnan(v) && !isnan(best))) {
				best = v;
				arg = h * int(p.W) + w;
			}
		}
	}
	o[p.out_off + i] = best;
	idx[p.idx_off + i] = arg;
#else
	float s = 0.0;
	for (int h = hs; h < he; ++h)
		for (int w = ws; w < we; ++w) s += x[xb + uint(h) * p.W + uint(w)];
	o[p.out_off + i] = s / float(p.KH * p.KW);
#endif
#else // BWD: one invocation per dx element
	uint hw = p.H * p.W;
	if (i >= p.N * p.C * hw) return;
	uint plane = i / hw, pos = i % hw;
	int h = int(pos / p.W), w = int(pos % p.W);
	// Windows oh with oh*SH-PH <= h <= oh*SH-PH+KH-1.
	int ohs = max(0, (h + int(p.PH) - int(p.KH) + int(p.SH)) / int(p.SH));
	int ohe = min(int(p.OH) - 1, (h + int(p.PH)) / int(p.SH));
	int ows = max(0, (w + int(p.PW) - int(p.KW) + int(p.SW)) / int(p.SW));
	int owe = min(int(p.OW) - 1, (w + int(p.PW)) / int(p.SW));
	uint ob = plane * p.OH * p.OW;
	float s = 0.0;
	for (int oh = ohs; oh <= ohe; ++oh) {
		for (int ow = ows; ow <= owe; ++ow) {
			uint k = ob + uint(oh) * p.OW + uint(ow);
#ifdef MAXPOOL
			if (idx[p.idx_off + k] == int(pos)) s += x[p.in_off + k];
#else
			s += x[p.in_off + k];
#endif
		}
	}
#ifdef MAXPOOL
	o[p.out_off + i] = s;
#else
	o[p.out_off + i] = s / float(p.KH * p.KW);
#endif
#endif
}
