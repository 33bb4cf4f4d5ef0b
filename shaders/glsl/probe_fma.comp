#version 450
// probe_fma: the FMA-throughput ceiling probe (uVkCompute mad_throughput).
// Each invocation runs p.iters trips of 8 independent vec4 FMA chains
// (64 FLOPs per trip) and writes one vec4 so the work cannot be removed.
// Not used by any op; tensor/vulkan/probe.go and the bench suite read it.
#include "common.glsl"

layout(local_size_x = 64, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer Out { vec4 o[]; };

layout(push_constant) uniform P {
	uint iters, n;
	float seed, pad;
} p;

void main() {
	uint i = flat_index();
	if (i >= p.n) return;
	float s = p.seed + float(i) * 1e-9;
	vec4 a0 = vec4(s, s + 0.1, s + 0.2, s + 0.3);
	vec4 a1 = a0 + 1.0, a2 = a0 + 2.0, a3 = a0 + 3.0;
	vec4 a4 = a0 + 4.0, a5 = a0 + 5.0, a6 = a0 + 6.0, a7 = a0 + 7.0;
	const vec4 m = vec4(0.9999999);
	const vec4 c = vec4(1e-7);
	for (uint k = 0; k < p.iters; ++k) {
		a0 = fma(a0, m, c);
		a1 = fma(a1, m, c);
		a2 = fma(a2, m, c);
		a3 = fma(a3, m, c);
		a4 = fma(a4, m, c);
		a5 = fma(a5, m, c);
		a6 = fma(a6, m, c);
		a7 = fma(a7, m, c);
	}
	o[i] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}
