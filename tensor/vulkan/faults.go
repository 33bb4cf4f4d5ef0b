//go:build cgo && linux && !android

package vulkan

import (
	vk "github.com/vulkan-go/vulkan"
)

// faultInjection lets tests make the driver fail: a non-zero result
// replaces the outcome of the next vkQueueSubmit (the command buffer is then
// not submitted) or vkWaitForFences, once. Guarded by Backend.mu.
type faultInjection struct {
	submit, wait vk.Result
}

// queueSubmit submits one command buffer, or returns an injected fault.
func (b *Backend) queueSubmit(cmd vk.CommandBuffer, fence vk.Fence) vk.Result {
	if r := b.fault.submit; r != vk.Success {
		b.fault.submit = vk.Success
		return r
	}
	return b.rawSubmit(cmd, fence)
}

// waitForFence waits up to timeout nanoseconds for a fence, or returns an
// injected fault.
func (b *Backend) waitForFence(fence vk.Fence, timeout uint64) vk.Result {
	if r := b.fault.wait; r != vk.Success {
		b.fault.wait = vk.Success
		return r
	}
	return vk.WaitForFences(b.dev, 1, []vk.Fence{fence}, vk.True, timeout)
}
