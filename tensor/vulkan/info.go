// Package vulkan is vkgrad's Vulkan compute backend. It loads the system
// Vulkan loader (libvulkan.so.1) at run time, records every tensor op as a
// SPIR-V compute dispatch into one command buffer, and submits on a host
// read, an explicit Sync, or a bound on dispatches per submit.
//
// Importing the package registers the backend as "vulkan" (priority 10, so
// tensor.Best prefers it over the CPU backend). The device is chosen by the
// backend spec ("vulkan:1", "vulkan:llvmpipe"), else by VKGRAD_DEVICE, else
// discrete GPU > integrated GPU > virtual GPU > CPU. Without cgo, or with no
// loader or no device, opening the backend fails with an error wrapping
// tensor.ErrUnavailable.
//
// Memory: tensors are suballocated from large blocks (device-local and, when
// the device offers it, host-visible so reads and writes go through the
// mapping; otherwise through staging copies in the stream), cached by size
// class, and reused only after the fence of the last submission that used
// them. Buffer.Release may come from any goroutine; tensors dropped without
// Release are reclaimed by a garbage collection the backend runs before its
// pool grows past twice the live bytes. LiveBytes reports the bytes of
// unreleased buffers.
//
// Work per invocation is bounded on drivers that stop long invocations:
// llvmpipe (lavapipe) ends every loop of an invocation after 65535 loop
// iterations in total, silently. The backend splits such work (K slices for
// matmul and backward-weight convolution, wider workgroups for reductions,
// several launches for IndexAdd) and refuses what it cannot split.
//
// Environment:
//
//	VKGRAD_DEVICE      device index or name substring
//	VKGRAD_VALIDATION  1 enables VK_LAYER_KHRONOS_validation and collects
//	                   every message (see ValidationMessages)
package vulkan

import (
	"fmt"
	"strings"
)

// Environment variables read by the backend.
const (
	EnvDevice     = "VKGRAD_DEVICE"
	EnvValidation = "VKGRAD_VALIDATION"
)

// DeviceInfo describes one physical device as reported by the driver.
type DeviceInfo struct {
	Index         int
	Name          string
	Type          string // "discrete GPU", "integrated GPU", "virtual GPU", "CPU", "other"
	VendorID      uint32
	DeviceID      uint32
	APIVersion    uint32
	DriverVersion uint32
	DriverName    string // from VkPhysicalDeviceDriverProperties (API >= 1.2), else empty
	DriverInfo    string
	Limits        Limits
	Subgroup      SubgroupInfo
	MemoryHeaps   []MemoryHeap
	MemoryTypes   []MemoryType
	QueueFamilies []QueueFamily
	// ComputeQueueFamily is the family the backend would use (-1: none).
	ComputeQueueFamily int
}

// Limits are the device limits the backend depends on.
type Limits struct {
	MaxComputeWorkGroupCount        [3]uint32
	MaxComputeWorkGroupSize         [3]uint32
	MaxComputeWorkGroupInvocations  uint32
	MaxComputeSharedMemorySize      uint32
	MaxStorageBufferRange           uint32
	MinStorageBufferOffsetAlignment uint64
	MaxPushConstantsSize            uint32
	MaxBoundDescriptorSets          uint32
	MaxPerStageStorageBuffers       uint32
	MaxMemoryAllocationCount        uint32
	MaxMemoryAllocationSize         uint64 // 0 when the driver does not report it
	NonCoherentAtomSize             uint64
	TimestampComputeAndGraphics     bool
	TimestampPeriod                 float32
}

// SubgroupInfo is VkPhysicalDeviceSubgroupProperties.
type SubgroupInfo struct {
	Known           bool // false when vkGetPhysicalDeviceProperties2 was unavailable
	Size            uint32
	Stages          uint32 // VkShaderStageFlags
	Operations      uint32 // VkSubgroupFeatureFlags
	QuadAllStages   bool
	ComputeSupports bool // Stages includes COMPUTE
}

// Subgroup operation bits (VkSubgroupFeatureFlagBits).
const (
	SubgroupBasic           = 0x1
	SubgroupVote            = 0x2
	SubgroupArithmetic      = 0x4
	SubgroupBallot          = 0x8
	SubgroupShuffle         = 0x10
	SubgroupShuffleRelative = 0x20
	SubgroupClustered       = 0x40
	SubgroupQuad            = 0x80
)

// OperationNames lists the subgroup operations by name.
func (s SubgroupInfo) OperationNames() []string {
	names := []string{"basic", "vote", "arithmetic", "ballot", "shuffle", "shuffle_relative", "clustered", "quad"}
	var out []string
	for i, n := range names {
		if s.Operations&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// MemoryHeap is one VkMemoryHeap.
type MemoryHeap struct {
	Size        uint64
	DeviceLocal bool
}

// MemoryType is one VkMemoryType.
type MemoryType struct {
	HeapIndex uint32
	Flags     uint32 // VkMemoryPropertyFlags
}

// Memory property bits (VkMemoryPropertyFlagBits).
const (
	MemDeviceLocal  = 0x1
	MemHostVisible  = 0x2
	MemHostCoherent = 0x4
	MemHostCached   = 0x8
	MemLazy         = 0x10
)

// FlagNames renders the memory property flags.
func (m MemoryType) FlagNames() string {
	names := []string{"DEVICE_LOCAL", "HOST_VISIBLE", "HOST_COHERENT", "HOST_CACHED", "LAZILY_ALLOCATED", "PROTECTED"}
	var out []string
	for i, n := range names {
		if m.Flags&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "|")
}

// QueueFamily is one VkQueueFamilyProperties.
type QueueFamily struct {
	Flags              uint32 // VkQueueFlags: 1 graphics, 2 compute, 4 transfer
	Count              uint32
	TimestampValidBits uint32
}

// VersionString renders a Vulkan API version.
func VersionString(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v>>22, (v>>12)&0x3ff, v&0xfff)
}

// DriverVersionString decodes the vendor-specific driver version.
func (d DeviceInfo) DriverVersionString() string {
	v := d.DriverVersion
	switch d.VendorID {
	case 0x10de: // NVIDIA
		return fmt.Sprintf("%d.%d.%d.%d", v>>22, (v>>14)&0xff, (v>>6)&0xff, v&0x3f)
	case 0x8086: // Intel on Windows uses 18.14; Mesa uses the standard encoding
		if d.DriverName != "" && !strings.Contains(strings.ToLower(d.DriverName), "mesa") {
			return fmt.Sprintf("%d.%d", v>>14, v&0x3fff)
		}
	}
	return VersionString(v)
}

func deviceTypeName(t uint32) string {
	switch t {
	case 1:
		return "integrated GPU"
	case 2:
		return "discrete GPU"
	case 3:
		return "virtual GPU"
	case 4:
		return "CPU"
	}
	return "other"
}

// typeRank orders device types for the default choice (lower is better).
func typeRank(t string) int {
	switch t {
	case "discrete GPU":
		return 0
	case "integrated GPU":
		return 1
	case "virtual GPU":
		return 2
	case "CPU":
		return 3
	}
	return 4
}
