#version 450
// probe_empty: the per-dispatch overhead probe. One invocation that does
// nothing unless p.flag is set (the host never sets it). Its one binding is
// writable, so dispatches that share a buffer are separated by barriers,
// as a chain of dependent ops is, and dispatches on distinct buffers are not.

layout(local_size_x = 1) in;

layout(std430, set = 0, binding = 0) buffer Out { uint o[]; };

layout(push_constant) uniform P {
	uint flag, pad0, pad1, pad2;
} p;

void main() {
	if (p.flag != 0u) o[0] = p.flag;
}
