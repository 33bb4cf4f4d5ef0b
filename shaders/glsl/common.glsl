// common.glsl: helpers shared by vkgrad's compute kernels.
//
// Conventions:
//  - Buffers are bound whole; element offsets, shapes and strides come in
//    push constants, so changing a batch size never recompiles a pipeline.
//  - 1-D grids larger than maxComputeWorkGroupCount.x are split by the host
//    over y and z; kernels rebuild the flat index with flat_group().
//  - Every kernel bounds-checks its tail. No kernel assumes a subgroup size.

#define MAX_RANK 6

// flat_group is the linear workgroup index of a grid split over x, y and z.
uint flat_group() {
	return gl_WorkGroupID.x + gl_NumWorkGroups.x * (gl_WorkGroupID.y + gl_NumWorkGroups.y * gl_WorkGroupID.z);
}

// flat_index() is the linear invocation index of a 1-D kernel. It is a
// macro, not a function: gl_WorkGroupSize is fixed by the kernel's layout
// declaration, which follows this include, and a function defined here
// would see the default size (1, 1, 1).
#define flat_index() (flat_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x)

// spow is x^y with the IEEE/Go semantics for negative bases and zeros
// (GLSL pow is undefined for x < 0 and for x == 0 with y <= 0).
float spow(float x, float y) {
	if (y == 0.0) return 1.0;
	if (isnan(x) || isnan(y)) return x + y;
	float ay = abs(y);
	bool yint = floor(y) == y;
	if (x == 0.0) {
		bool odd = yint && ay < 16777216.0 && mod(ay, 2.0) == 1.0;
		if (y > 0.0) return odd ? x : 0.0;
		float inf = uintBitsToFloat(0x7f800000u);
		return (odd && floatBitsToUint(x) == 0x80000000u) ? -inf : inf;
	}
	if (x < 0.0) {
		if (!yint) return uintBitsToFloat(0x7fc00000u);
		float r = pow(-x, y);
		bool odd = ay < 16777216.0 && mod(ay, 2.0) == 1.0;
		return odd ? -r : r;
	}
	return pow(x, y);
}
