#version 450
// Fused optimizer updates, in place, PyTorch semantics.
//
// adam  g = grad + wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
//       p -= step * m / (sqrt(v)/bc2 + eps), step = lr/(1-b1^t), bc2 = sqrt(1-b2^t)
// sgd   g = grad + wd*p; with momentum: buf = mu*buf + g and
//       g = nesterov ? g + mu*buf : buf; p -= lr*g
//
// adam4 is adam over vec4s (offsets and the count in vec4 units), the
// fast path when every operand is aligned to 4 floats (ops_fast.go); the
// host runs the tail of fewer than 4 values with adam.
//
// @variant adam -DADAM
// @variant adam4 -DADAM -DVEC4
// @variant sgd
#include "common.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

#ifdef VEC4
#define T vec4
#else
#define T float
#endif

layout(std430, set = 0, binding = 0) buffer Param { T prm[]; };
layout(std430, set = 0, binding = 1) readonly buffer Grad { T grad[]; };
layout(std430, set = 0, binding = 2) buffer M { T mbuf[]; };
#ifdef ADAM
layout(std430, set = 0, binding = 3) buffer V { T vbuf[]; };

layout(push_constant) uniform P {
	uint n, p_off, g_off, m_off;
	uint v_off;
	float step, bc2, beta1;
	float beta2, eps, wd, pad0;
} p;

void main() {
#ifdef VEC4
	// Loads outside any branch (lane-masked loads are slower on llvmpipe);
	// the tail lanes recompute the last vec4 and do not store it.
	uint gi = flat_index();
	uint i = min(gi, p.n - 1u);
#else
	uint i = flat_index();
	if (i >= p.n) return;
#endif
	T w = prm[p.p_off + i];
	T g = grad[p.g_off + i] + p.wd * w;
	T m = p.beta1 * mbuf[p.m_off + i] + (1.0 - p.beta1) * g;
	T v = p.beta2 * vbuf[p.v_off + i] + (1.0 - p.beta2) * g * g;
	T w2 = w - p.step * m / (sqrt(v) / p.bc2 + p.eps);
#ifdef VEC4
	if (gi >= p.n) return;
#endif
	mbuf[p.m_off + i] = m;
	vbuf[p.v_off + i] = v;
	prm[p.p_off + i] = w2;
}

#else

layout(push_constant) uniform P {
	uint n, p_off, g_off, m_off;
	float lr, momentum, wd;
	uint nesterov;
} p;

void main() {
	uint i = flat_index();
	if (i >= p.n) return;
	float w = prm[p.p_off + i];
	float g = grad[p.g_off + i] + p.wd * w;
	if (p.momentum != 0.0) {
		float buf = p.momentum * mbuf[p.m_off + i] + g;
		mbuf[p.m_off + i] = buf;
		g = p.nesterov != 0u ? g + p.momentum * buf : buf;
	}
	prm[p.p_off + i] = w - p.lr * g;
}

#endif
