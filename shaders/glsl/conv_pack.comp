#version 450
// conv_pack: repacks convolution weights w[Cout, Cin, KH, KW] for the
// conv_bcast kernels: wp[(tap*R + r)*C4*4 + c] = w[.., .., tap] with c the
// fastest axis padded with zeros to C4*4 = 4*ceil(C/4):
//   mode 0 (forward):        r = ci (R = Cin), c = co (C = Cout)
//   mode 1 (backward data):  r = co (R = Cout), c = ci (C = Cin)
// One invocation per packed element; the grid is split by flat_group().
#include "common.glsl"

layout(local_size_x = 256, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer WP { float wp[]; };
layout(std430, set = 0, binding = 1) readonly buffer Wt { float w[]; };

layout(push_constant) uniform P {
	uint Cout, Cin, taps, mode;
	uint w_off, total, pad0, pad1;
} p;

void main() {
	uint i = flat_index();
	if (i >= p.total) return;
	uint R = p.mode == 0u ? p.Cin : p.Cout;
	uint C = p.mode == 0u ? p.Cout : p.Cin;
	uint C4 = (C + 3u) / 4u * 4u;
	uint c = i % C4, t = i / C4;
	uint r = t % R, tap = t / R;
	float v = 0.0;
	if (c < C) {
		uint co = p.mode == 0u ? c : r;
		uint ci = p.mode == 0u ? r : c;
		v = w[p.w_off + (co * p.Cin + ci) * p.taps + tap];
	}
	wp[i] = v;
}
