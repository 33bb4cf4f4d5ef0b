#version 450
// reduce: x dense [outer, n, inner] -> out dense [outer, inner] along n.
//
// Variants (one file, selected by defines):
//   reduce         one workgroup per output, shared-memory tree reduction
//   reduce_argmax  the same for argmax (int32 output)
//   reduce_seq     one invocation per output, sequential (small n)
//   reduce_seq_argmax
// Sum, mean and variance accumulate in float32; variance uses two passes.
// Max and argmax propagate NaN (the first NaN wins), ties keep the first
// index, as the CPU reference does.
//
// @variant reduce
// @variant reduce_argmax -DARGMAX
// @variant reduce_seq -DSEQ
// @variant reduce_seq_argmax -DSEQ -DARGMAX
#include "common.glsl"

#ifdef SEQ
layout(local_size_x = 64, local_size_x_id = 0) in;
#else
layout(local_size_x = 128, local_size_x_id = 0) in;
#endif

#ifdef ARGMAX
layout(std430, set = 0, binding = 0) writeonly buffer Out { int o[]; };
#else
layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
#endif
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };

layout(push_constant) uniform P {
	uint outer, n, inner, op;
	uint x_off, out_off, pad0, pad1;
} p;

// Op codes, in tensor.ReduceOp order.
#define SUM 0
#define MEAN 1
#define MAX 2
#define VARIANCE 4

// better reports whether v replaces the running maximum cur.
bool better(float v, float cur) { return v > cur || (isnan(v) && !isnan(cur)); }

#ifdef SEQ

void main() {
	uint g = flat_index();
	if (g >= p.outer * p.inner) return;
	uint base = p.x_off + (g / p.inner) * p.n * p.inner + g % p.inner;
#ifdef ARGMAX
	float best = x[base];
	int arg = 0;
	for (uint j = 1; j < p.n; ++j) {
		float v = x[base + j * p.inner];
		if (better(v, best)) { best = v; arg = int(j); }
	}
	o[p.out_off + g] = arg;
#else
	if (p.op == MAX) {
		float best = x[base];
		for (uint j = 1; j < p.n; ++j) {
			float v = x[base + j * p.inner];
			if (better(v, best)) best = v;
		}
		o[p.out_off + g] = best;
		return;
	}
	float s = 0.0;
	for (uint j = 0; j < p.n; ++j) s += x[base + j * p.inner];
	float mean = s / float(p.n);
	if (p.op == SUM) { o[p.out_off + g] = s; return; }
	if (p.op == MEAN) { o[p.out_off + g] = mean; return; }
	float q = 0.0;
	for (uint j = 0; j < p.n; ++j) {
		float d = x[base + j * p.inner] - mean;
		q += d * d;
	}
	o[p.out_off + g] = q / float(p.n);
#endif
}

#else // workgroup per output

shared float sv[gl_WorkGroupSize.x];
#ifdef ARGMAX
shared uint si[gl_WorkGroupSize.x];
#endif

void main() {
	uint g = flat_group(); // uniform across the workgroup
	if (g >= p.outer * p.inner) return;
	uint lid = gl_LocalInvocationID.x;
	uint wg = gl_WorkGroupSize.x;
	uint base = p.x_off + (g / p.inner) * p.n * p.inner + g % p.inner;
#ifdef ARGMAX
	bool max_mode = true;
#else
	bool max_mode = p.op == MAX;
#endif
	if (max_mode) {
		float best = uintBitsToFloat(0xff800000u); // -inf: empty slots never win
		uint arg = 0xffffffffu;
		for (uint j = lid; j < p.n; j += wg) {
			float v = x[base + j * p.inner];
			if (arg == 0xffffffffu || better(v, best)) { best = v; arg = j; }
		}
		sv[lid] = best;
#ifdef ARGMAX
		si[lid] = arg;
#endif
		barrier();
		for (uint s = wg / 2; s > 0; s >>= 1) {
			if (lid < s) {
				float va = sv[lid], vb = sv[lid + s];
#ifdef ARGMAX
				uint ia = si[lid], ib = si[lid + s];
				// Slots hold interleaved index sets, so ties (and NaN ties)
				// are broken by the smaller index.
				bool tie = vb == va || (isnan(va) && isnan(vb));
				if (ib != 0xffffffffu && (ia == 0xffffffffu || better(vb, va) || (tie && ib < ia))) {
					sv[lid] = vb;
					si[lid] = ib;
				}
#else
				if (better(vb, va)) sv[lid] = vb;
#endif
			}
			barrier();
		}
		if (lid == 0) {
#ifdef ARGMAX
			o[p.out_off + g] = int(si[0]);
#else
			o[p.out_off + g] = sv[0];
#endif
		}
		return;
	}
#ifndef ARGMAX
	float s = 0.0;
	for (uint j = lid; j < p.n; j += wg) s += x[base + j * p.inner];
	sv[lid] = s;
	barrier();
	for (uint k = wg / 2; k > 0; k >>= 1) {
		if (lid < k) sv[lid] += sv[lid + k];
		barrier();
	}
	float total = sv[0];
	if (p.op != VARIANCE) {
		if (lid == 0) o[p.out_off + g] = p.op == MEAN ? total / float(p.n) : total;
		return;
	}
	float mean = total / float(p.n);
	barrier(); // everyone has read sv[0]
	float q = 0.0;
	for (uint j = lid; j < p.n; j += wg) {
		float d = x[base + j * p.inner] - mean;
		q += d * d;
	}
	sv[lid] = q;
	barrier();
	for (uint k = wg / 2; k > 0; k >>= 1) {
		if (lid < k) sv[lid] += sv[lid + k];
		barrier();
	}
	if (lid == 0) o[p.out_off + g] = sv[0] / float(p.n);
#endif
}

#endif
