#version 450
// probe_copy: the memory-bandwidth ceiling probe. Copies p.n elements
// (float, or vec4 in the probe_copy4 variant) from binding 1 to binding 0,
// one element per invocation over a grid split by flat_group().
// @variant probe_copy
// @variant probe_copy4 -DVEC4=1
#include "common.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

#ifdef VEC4
#define ELEM vec4
#else
#define ELEM float
#endif

layout(std430, set = 0, binding = 0) writeonly buffer Dst { ELEM dst[]; };
layout(std430, set = 0, binding = 1) readonly buffer Src { ELEM src[]; };

layout(push_constant) uniform P {
	uint n, pad0, pad1, pad2;
} p;

void main() {
	uint i = flat_index();
	if (i < p.n) dst[i] = src[i];
}
