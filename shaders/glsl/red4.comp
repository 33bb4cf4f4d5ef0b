#version 450
// red4: sum, mean and max of dense x [outer, n, inner] along n with vec4
// loads, the fast path of Reduce (ops_fast.go) when offsets and the
// contiguous extent are multiples of 4:
//
//   red4_rows     inner == 1: one workgroup per row; each invocation sums
//                 (or maxes) a strided set of vec4s, then a shared-memory
//                 tree combines the workgroup (any subgroup size)
//   red4_rows_sg  the same, combining each subgroup with subgroupAdd or
//                 subgroupMax and the subgroups through shared memory;
//                 chosen only when the device reports ARITHMETIC subgroup
//                 operations in compute
//   red4_cols     inner % 4 == 0: one invocation per V adjacent vec4s of
//                 outputs, a sequential float32 sum (or max) down n
//
// Sum and mean accumulate in float32. Max propagates NaN and otherwise
// returns the largest value, as reduce.comp (which index is the first NaN
// does not matter for the value).
//
// @variant red4_rows
// @variant red4_rows_sg -DSUBGROUP
// @variant red4_cols -DCOLS
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#include "common.glsl"

#ifdef COLS
layout(local_size_x = 64, local_size_x_id = 0) in;
#else
layout(local_size_x = 128, local_size_x_id = 0) in;
#endif
// The op is a specialization constant (tensor.ReduceOp: 0 sum, 1 mean,
// 2 max), so no lane-masked branch on it remains.
layout(constant_id = 1) const uint OP = 0;

layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { vec4 x4[]; };

// x_off4 is in vec4 units, out_off in floats.
layout(push_constant) uniform P {
	uint outer, n, inner, x_off4;
	uint out_off, pad0, pad1, pad2;
} p;

#define SUM 0
#define MEAN 1
#define MAX 2

bool better(float v, float cur) { return v > cur || (isnan(v) && !isnan(cur)); }

float combine(float a, float b) {
	if (OP == MAX) return better(b, a) ? b : a;
	return a + b;
}

vec4 combine4(vec4 a, vec4 b) {
	if (OP == MAX) return vec4(combine(a.x, b.x), combine(a.y, b.y), combine(a.z, b.z), combine(a.w, b.w));
	return a + b;
}

float finish(float s, uint count) { return OP == MEAN ? s / float(count) : s; }

#ifdef COLS

// V is the adjacent vec4 columns one invocation sums: on llvmpipe the 8
// lanes of a SIMD chunk then read 8*V contiguous vec4s of each row.
layout(constant_id = 2) const uint V = 4;

void main() {
	uint inner4 = p.inner / 4u;
	uint chunks = (inner4 + V - 1u) / V;
	uint total = p.outer * chunks;
	uint gi = flat_index();
	uint g = min(gi, total - 1u);
	uint row = g / chunks, c0 = (g % chunks) * V;
	uint base = p.x_off4 + row * p.n * inner4;
	vec4 s[V];
	uint col[V];
	for (uint v = 0u; v < V; ++v) {
		col[v] = base + min(c0 + v, inner4 - 1u);
		s[v] = x4[col[v]];
	}
	uint j = 1u;
	// Four rows per trip: fewer loop iterations per load.
	for (; j + 4u <= p.n; j += 4u) {
		uint r = j * inner4;
		for (uint v = 0u; v < V; ++v) {
			uint c = col[v] + r;
			vec4 v0 = x4[c], v1 = x4[c + inner4], v2 = x4[c + 2u * inner4], v3 = x4[c + 3u * inner4];
			s[v] = combine4(combine4(combine4(combine4(s[v], v0), v1), v2), v3);
		}
	}
	for (; j < p.n; ++j) {
		for (uint v = 0u; v < V; ++v) s[v] = combine4(s[v], x4[col[v] + j * inner4]);
	}
	for (uint v = 0u; v < V; ++v) {
		if (gi < total && c0 + v < inner4) {
			uint ob = p.out_off + row * p.inner + 4u * (c0 + v);
			o[ob] = finish(s[v].x, p.n);
			o[ob + 1u] = finish(s[v].y, p.n);
			o[ob + 2u] = finish(s[v].z, p.n);
			o[ob + 3u] = finish(s[v].w, p.n);
		}
	}
}

#else

shared float part[gl_WorkGroupSize.x];

void main() {
	uint row = flat_group();
	uint n4 = p.n / 4u;
	uint lid = gl_LocalInvocationID.x;
	uint base = p.x_off4 + row * n4;
	// The host uses this kernel only for rows of at least WG vec4s, so
	// every invocation starts from its own element.
	vec4 s = x4[base + lid];
	for (uint j = lid + gl_WorkGroupSize.x; j < n4; j += gl_WorkGroupSize.x) s = combine4(s, x4[base + j]);
	float v = combine(combine(s.x, s.y), combine(s.z, s.w));
#ifdef SUBGROUP
	// subgroupMax need not propagate NaN: carry a NaN flag through
	// subgroupMax of an integer instead.
	uint nan = subgroupMax(isnan(v) ? 1u : 0u);
	v = OP == MAX ? subgroupMax(v) : subgroupAdd(v);
	if (OP == MAX && nan != 0u) v = uintBitsToFloat(0x7fc00000u);
	if (subgroupElect()) part[gl_SubgroupID] = v;
	barrier();
	if (lid == 0u) {
		float t = part[0];
		for (uint i = 1u; i < gl_NumSubgroups; ++i) t = combine(t, part[i]);
		o[p.out_off + row] = finish(t, p.n);
	}
#else
	part[lid] = v;
	barrier();
	for (uint w = gl_WorkGroupSize.x / 2u; w > 0u; w /= 2u) {
		if (lid < w) part[lid] = combine(part[lid], part[lid + w]);
		barrier();
	}
	if (lid == 0u) o[p.out_off + row] = finish(part[0], p.n);
#endif
}

#endif
