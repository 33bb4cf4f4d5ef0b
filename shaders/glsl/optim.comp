#version 450
// Fused optimizer updates, in place, PyTorch semantics.
//
// adam  g = grad + wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
//       p -= step * m / (sqrt(v)/bc2 + eps), step = lr/(1-b1^t), bc2 = sqrt(1-b2^t)
// sgd   g = grad + wd*p; with momentum: buf = mu*buf + g and
//       g = nesterov ? g + mu*buf : buf; p -= lr*g
//
// @variant adam -DADAM
// @variant sgd
#include "common.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) buffer Param { float prm[]; };
layout(std430, set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, set = 0, binding = 2) buffer M { float mbuf[]; };
#ifdef ADAM
layout(std430, set = 0, binding = 3) buffer V { float vbuf[]; };

layout(push_constant) uniform P {
	uint n, p_off, g_off, m_off;
	uint v_off;
	float step, bc2, beta1;
	float beta2, eps, wd, pad0;
} p;

void main() {
	uint i = flat_index();
	if (i >= p.n) return;
	float w = prm[p.p_off + i];
	float g = grad[p.g_off + i] + p.wd * w;
	float m = p.beta1 * mbuf[p.m_off + i] + (1.0 - p.beta1) * g;
	float v = p.beta2 * vbuf[p.v_off + i] + (1.0 - p.beta2) * g * g;
	mbuf[p.m_off + i] = m;
	vbuf[p.v_off + i] = v;
	prm[p.p_off + i] = w - p.step * m / (sqrt(v) / p.bc2 + p.eps);
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
