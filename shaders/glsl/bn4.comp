#version 450
// bn4: batch norm over dense x [N, C, HW] with vec4 loads, the fast path of
// BatchNormForward/Backward (ops_fast_bn.go) when HW and every offset of
// the large operands are multiples of 4. The statistics are a middle-axis
// reduction of x viewed as [N, C*HW] (as red4_cols, V adjacent vec4
// columns per invocation) followed by a small per-channel combine; the
// normalisation and dx are per-channel affine maps applied as vec4s, with
// coefficients the combine kernels compute once per channel. Every kernel
// binds at most 8 buffers (the backend's one descriptor-set layout).
//
//   bn4_cols       per column of [N, C*HW]: s1 = sum (x - K), s2 = sum (x - K)^2
//                  with the shift K = x[0, col] (stable single pass);
//                  writes part[col] = s1, part[C*HW + col] = s2
//   bn4_chan       one workgroup per channel (a tree over its columns in
//                  shared memory): mean and biased variance from
//                  the columns (Chan's parallel combination), invstd, the
//                  running statistics (training), or both from the running
//                  statistics (eval); coef[c] = gamma*invstd,
//                  coef[C + c] = mean*gamma*invstd
//   bn4_apply      out = x*coef[c] + (beta[c] - coef[C + c])
//   bn4_bwd_cols   per column: part[col] = sum dy, part[C*HW + col] =
//                  sum dy*(x - mean[c])
//   bn4_bwd_chan   dbeta = sum dy, dgamma = invstd * sum dy*(x - mean);
//                  coef = {gamma*invstd, -gamma*invstd^2*dgamma/M,
//                  -gamma*invstd*dbeta/M, mean}, M = N*HW
//   bn4_bwd_apply  dx = coef0*dy + coef1*(x - coef3) + coef2
//   bn4_*apply_flat  the same maps for HW not a multiple of 4 (C*HW must
//                  be, and HW >= 4*V): x as a flat vec4 stream; the V vec4s
//                  of an invocation straddle at most one channel boundary,
//                  so it loads the coefficients of two channels and picks
//                  per component (no branch, no per-component load)
//
// The statistics kernels only need C*HW to be a multiple of 4: a vec4
// column of [N, C*HW] may straddle two channels (bn4_bwd_cols looks the
// mean up per component; bn4_chan sums columns per channel).
//
// @variant bn4_cols -DCOLS
// @variant bn4_bwd_cols -DCOLS -DBWD
// @variant bn4_chan -DCHAN
// @variant bn4_bwd_chan -DCHAN -DBWD
// @variant bn4_apply -DAPPLY
// @variant bn4_bwd_apply -DAPPLY -DBWD
// @variant bn4_apply_flat -DAPPLY -DFLAT
// @variant bn4_bwd_apply_flat -DAPPLY -DBWD -DFLAT
#include "common.glsl"

layout(local_size_x = 64, local_size_x_id = 0) in;
// V: adjacent vec4s per invocation (COLS and APPLY).
layout(constant_id = 1) const uint V = 4;

// Offsets are in floats (multiples of 4 for the vec4 operands).
layout(push_constant) uniform P {
	uint N, C, HW, training;
	uint x_off, dy_off, o_off, mean_off;
	uint istd_off, g_off, b_off, rm_off;
	uint rv_off;
	float eps, momentum;
	uint pad0;
} p;

#ifdef COLS

layout(std430, set = 0, binding = 0) writeonly buffer Part { float part[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { vec4 x4[]; };
#ifdef BWD
layout(std430, set = 0, binding = 2) readonly buffer DY { vec4 dy4[]; };
layout(std430, set = 0, binding = 3) readonly buffer Mean { float mean[]; };
#endif

void main() {
	uint cols4 = p.C * p.HW / 4u;
	uint chunks = (cols4 + V - 1u) / V;
	uint gi = flat_index();
	uint c0 = min(gi, chunks - 1u) * V;
	uint xb = p.x_off / 4u;
	vec4 s1[V], s2[V], k[V];
	uint col[V];
	for (uint v = 0u; v < V; ++v) {
		col[v] = min(c0 + v, cols4 - 1u);
#ifdef BWD
		uint e = 4u * col[v];
		k[v] = vec4(mean[p.mean_off + e / p.HW], mean[p.mean_off + (e + 1u) / p.HW],
			mean[p.mean_off + (e + 2u) / p.HW], mean[p.mean_off + (e + 3u) / p.HW]);
#else
		k[v] = x4[xb + col[v]];
#endif
		s1[v] = vec4(0.0);
		s2[v] = vec4(0.0);
	}
#ifdef BWD
	uint yb = p.dy_off / 4u;
	for (uint j = 0u; j < p.N; ++j) {
		uint r = j * cols4;
		for (uint v = 0u; v < V; ++v) {
			vec4 g = dy4[yb + r + col[v]];
			s1[v] += g;
			s2[v] += g * (x4[xb + r + col[v]] - k[v]);
		}
	}
#else
	// Row 0 is the shift itself (contributes zeros).
	for (uint j = 1u; j < p.N; ++j) {
		uint r = j * cols4;
		for (uint v = 0u; v < V; ++v) {
			vec4 d = x4[xb + r + col[v]] - k[v];
			s1[v] += d;
			s2[v] += d * d;
		}
	}
#endif
	uint cols = 4u * cols4;
	for (uint v = 0u; v < V; ++v) {
		if (gi < chunks && c0 + v < cols4) {
			uint e = 4u * (c0 + v);
			part[e] = s1[v].x;
			part[e + 1u] = s1[v].y;
			part[e + 2u] = s1[v].z;
			part[e + 3u] = s1[v].w;
			part[cols + e] = s2[v].x;
			part[cols + e + 1u] = s2[v].y;
			part[cols + e + 2u] = s2[v].z;
			part[cols + e + 3u] = s2[v].w;
		}
	}
}

#endif

#ifdef CHAN

layout(std430, set = 0, binding = 0) readonly buffer Part { float part[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Coef { float coef[]; };
layout(std430, set = 0, binding = 2) readonly buffer Gamma { float gamma[]; };
#ifdef BWD
// dgamma is written at o_off, dbeta at b_off.
layout(std430, set = 0, binding = 3) readonly buffer Mean { float mean[]; };
layout(std430, set = 0, binding = 4) readonly buffer InvStd { float invstd[]; };
layout(std430, set = 0, binding = 5) writeonly buffer DG { float dgamma[]; };
layout(std430, set = 0, binding = 6) writeonly buffer DB { float dbeta[]; };
#else
layout(std430, set = 0, binding = 3) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 4) writeonly buffer InvStd { float invstd[]; };
layout(std430, set = 0, binding = 5) writeonly buffer Mean { float mean_out[]; };
layout(std430, set = 0, binding = 6) buffer RunMean { float rmean[]; };
layout(std430, set = 0, binding = 7) buffer RunVar { float rvar[]; };
#endif

// One workgroup per channel: its invocations sum strided columns and
// combine them in a shared-memory tree (the workgroup size is a power of 2).
shared float sh[gl_WorkGroupSize.x];

float wg_sum(float v) {
	uint lid = gl_LocalInvocationID.x;
	sh[lid] = v;
	barrier();
	for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
		if (lid < s) sh[lid] += sh[lid + s];
		barrier();
	}
	float r = sh[0];
	barrier();
	return r;
}

void main() {
	uint lid = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x;
	uint c = min(flat_group(), p.C - 1u);
	bool lead = lid == 0u && flat_group() < p.C;
	uint cols = p.C * p.HW;
	uint base = c * p.HW;
	float n = float(p.N);
	float g = gamma[p.g_off + c];
#ifdef BWD
	float a = 0.0, b = 0.0;
	for (uint j = lid; j < p.HW; j += L) {
		a += part[base + j];
		b += part[cols + base + j];
	}
	a = wg_sum(a);
	b = wg_sum(b);
	if (!lead) return;
	float is = invstd[p.istd_off + c];
	float dg = b * is;
	dbeta[p.b_off + c] = a;
	dgamma[p.o_off + c] = dg;
	float m = n * float(p.HW);
	coef[c] = g * is;
	coef[p.C + c] = -g * is * is * dg / m;
	coef[2u * p.C + c] = -g * is * a / m;
	coef[3u * p.C + c] = mean[p.mean_off + c];
#else
	float mu, is;
	if (p.training != 0u) {
		// Column j: mean_j = K_j + s1_j/N, M2_j = s2_j - s1_j^2/N; the
		// channel: mean = avg mean_j, M2 = sum M2_j + N*sum (mean_j - mean)^2.
		float s = 0.0;
		for (uint j = lid; j < p.HW; j += L) s += x[p.x_off + base + j] + part[base + j] / n;
		mu = wg_sum(s) / float(p.HW);
		float m2 = 0.0;
		for (uint j = lid; j < p.HW; j += L) {
			float s1 = part[base + j];
			float mj = x[p.x_off + base + j] + s1 / n;
			m2 += (part[cols + base + j] - s1 * s1 / n) + n * (mj - mu) * (mj - mu);
		}
		m2 = wg_sum(m2);
		if (!lead) return;
		float cnt = n * float(p.HW);
		float var = max(m2, 0.0) / cnt;
		is = 1.0 / sqrt(var + p.eps);
		float mo = p.momentum;
		rmean[p.rm_off + c] = (1.0 - mo) * rmean[p.rm_off + c] + mo * mu;
		rvar[p.rv_off + c] = (1.0 - mo) * rvar[p.rv_off + c] + mo * var * cnt / (cnt - 1.0);
	} else {
		if (!lead) return;
		mu = rmean[p.rm_off + c];
		is = 1.0 / sqrt(rvar[p.rv_off + c] + p.eps);
	}
	mean_out[p.mean_off + c] = mu;
	invstd[p.istd_off + c] = is;
	float scale = g * is;
	coef[c] = scale;
	coef[p.C + c] = mu * scale;
#endif
}

#endif

#ifdef APPLY

layout(std430, set = 0, binding = 0) writeonly buffer Out { vec4 o4[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { vec4 x4[]; };
layout(std430, set = 0, binding = 2) readonly buffer Coef { float coef[]; };
#ifdef BWD
layout(std430, set = 0, binding = 3) readonly buffer DY { vec4 dy4[]; };
#else
layout(std430, set = 0, binding = 3) readonly buffer Beta { float beta[]; };
#endif

#ifdef FLAT
void main() {
	uint total4 = p.N * p.C * p.HW / 4u;
	uint chunks = (total4 + V - 1u) / V;
	uint gi = flat_index();
	uint i0 = min(gi, chunks - 1u) * V;
	// Rows of [N*C, HW]: the invocation's 4V elements lie in row r0 and
	// possibly r0 + 1 (HW >= 4V); element e belongs to r0 + 1 from bound on.
	uint r0 = 4u * i0 / p.HW;
	uint bound = (r0 + 1u) * p.HW;
	uint cl = r0 % p.C, ch = (r0 + 1u) % p.C;
#ifdef BWD
	vec2 a2 = vec2(coef[cl], coef[ch]), b2 = vec2(coef[p.C + cl], coef[p.C + ch]);
	vec2 d2 = vec2(coef[2u * p.C + cl], coef[2u * p.C + ch]), m2 = vec2(coef[3u * p.C + cl], coef[3u * p.C + ch]);
#else
	vec2 a2 = vec2(coef[cl], coef[ch]);
	vec2 b2 = vec2(beta[p.b_off + cl], beta[p.b_off + ch]) - vec2(coef[p.C + cl], coef[p.C + ch]);
#endif
	for (uint v = 0u; v < V; ++v) {
		uint i = min(i0 + v, total4 - 1u);
		bvec4 hi = greaterThanEqual(uvec4(4u * i) + uvec4(0u, 1u, 2u, 3u), uvec4(bound));
		vec4 a = mix(vec4(a2.x), vec4(a2.y), hi);
		vec4 b = mix(vec4(b2.x), vec4(b2.y), hi);
		vec4 xv = x4[p.x_off / 4u + i];
#ifdef BWD
		vec4 d = mix(vec4(d2.x), vec4(d2.y), hi);
		vec4 mu = mix(vec4(m2.x), vec4(m2.y), hi);
		vec4 r = a * dy4[p.dy_off / 4u + i] + b * (xv - mu) + d;
#else
		vec4 r = fma(xv, a, b);
#endif
		if (gi < chunks && i0 + v < total4) o4[p.o_off / 4u + i] = r;
	}
}
#else
void main() {
	uint hw4 = p.HW / 4u;
	uint chunks = (hw4 + V - 1u) / V;
	uint total = p.N * p.C * chunks;
	uint gi = flat_index();
	uint g = min(gi, total - 1u);
	uint row = g / chunks, c0 = (g % chunks) * V;
	uint c = row % p.C;
	float a = coef[c];
#ifdef BWD
	float b = coef[p.C + c], d = coef[2u * p.C + c], mu = coef[3u * p.C + c];
#else
	float b = beta[p.b_off + c] - coef[p.C + c];
#endif
	uint rb = row * hw4;
	for (uint v = 0u; v < V; ++v) {
		uint i = rb + min(c0 + v, hw4 - 1u);
		vec4 xv = x4[p.x_off / 4u + i];
#ifdef BWD
		vec4 r = a * dy4[p.dy_off / 4u + i] + b * (xv - mu) + d;
#else
		vec4 r = fma(xv, vec4(a), vec4(b));
#endif
		if (gi < total && c0 + v < hw4) o4[p.o_off / 4u + i] = r;
	}
}

#endif

#endif
