#version 450
// probe_load: the in-loop load ceiling probe. Each invocation runs p.iters
// trips of a loop that loads one float (probe_load) or one vec4
// (probe_load4) from its own address in a buffer that stays in cache, and
// adds it up; it writes the sum so nothing is removed. A GEMM kernel
// loads its operands inside its K loop: on drivers that load lane by lane
// (llvmpipe) this rate, not the FMA rate, bounds it. Not used by any op.
// @variant probe_load
// @variant probe_load4 -DVEC4=1
#include "common.glsl"

layout(local_size_x = 64, local_size_x_id = 0) in;

#ifdef VEC4
#define ELEM vec4
#else
#define ELEM float
#endif

layout(std430, set = 0, binding = 0) writeonly buffer Out { ELEM o[]; };
layout(std430, set = 0, binding = 1) readonly buffer Src { ELEM src[]; };

layout(push_constant) uniform P {
	uint iters, n, mask, pad;
} p;

void main() {
	uint i = flat_index();
	ELEM s = ELEM(0.0);
	uint idx = i;
	for (uint k = 0; k < p.iters; ++k) {
		s += src[idx & p.mask];
		idx += 64u;
	}
	if (i < p.n) o[i] = s;
}
