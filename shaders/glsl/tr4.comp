#version 450
// tr4: out = x^T for batched matrices as 4x4 blocks of vec4s, the fast
// path of Copy (ops_fast_tr.go) when the output is dense [B, C, R] and x
// is its transposed view: x[b, c, r] at x_off + b*x_bs + r*x_rs + c. Each
// invocation reads 4 rows of x (4 vec4s at columns 4cb..4cb+3) and writes
// the 4x4 block transposed as 4 vec4 rows of out, so the strided read of
// copy.comp (one per-lane load per float on llvmpipe) becomes one vec4
// load and one vec4 store per 4 floats, as in a dense copy. R, x_rs, x_bs
// and both offsets are multiples of 4; the host copies the columns past
// the last full block of 4 with copy.comp. Bitwise (float32 or int32).
#include "common.glsl"

layout(local_size_x = 64, local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer Out { uvec4 o[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { uvec4 x[]; };

// All in vec4 units: rb4 = R/4 row blocks of x, cb4 = full column blocks;
// o_rs4 = R/4 (a row of out), o_bs4 = C*R/4 (a matrix of out).
layout(push_constant) uniform P {
	uint nb, rb4, cb4, x_off4;
	uint x_rs4, x_bs4, o_off4, o_bs4;
} p;

void main() {
	uint gi = flat_index();
	uint total = p.nb * p.rb4 * p.cb4;
	// Loads outside any branch: the tail lanes read the last block.
	uint g = min(gi, total - 1u);
	uint cb = g % p.cb4;
	uint t = g / p.cb4;
	uint rb = t % p.rb4;
	uint b = t / p.rb4;
	uint xs = p.x_off4 + b * p.x_bs4 + 4u * rb * p.x_rs4 + cb;
	uvec4 r0 = x[xs];
	uvec4 r1 = x[xs + p.x_rs4];
	uvec4 r2 = x[xs + 2u * p.x_rs4];
	uvec4 r3 = x[xs + 3u * p.x_rs4];
	uint od = p.o_off4 + b * p.o_bs4 + 4u * cb * p.rb4 + rb;
	if (gi < total) {
		o[od] = uvec4(r0.x, r1.x, r2.x, r3.x);
		o[od + p.rb4] = uvec4(r0.y, r1.y, r2.y, r3.y);
		o[od + 2u * p.rb4] = uvec4(r0.z, r1.z, r2.z, r3.z);
		o[od + 3u * p.rb4] = uvec4(r0.w, r1.w, r2.w, r3.w);
	}
}
