package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/tensor/vulkan"
)

// TestPrintDevice renders a described device and checks the fields vkinfo
// promises.
func TestPrintDevice(t *testing.T) {
	d := vulkan.DeviceInfo{
		Index: 0, Name: "llvmpipe (LLVM 15.0.6, 256 bits)", Type: "CPU", VendorID: 0x10005,
		APIVersion: 1<<22 | 3<<12 | 230, DriverVersion: 1, DriverName: "llvmpipe", DriverInfo: "Mesa 22.3.6",
		Limits: vulkan.Limits{MaxComputeWorkGroupCount: [3]uint32{65535, 65535, 65535}, MaxComputeWorkGroupSize: [3]uint32{1024, 1024, 1024},
			MaxComputeWorkGroupInvocations: 1024, MaxComputeSharedMemorySize: 32768, MaxStorageBufferRange: 1 << 27,
			MinStorageBufferOffsetAlignment: 16, MaxPushConstantsSize: 128},
		Subgroup:      vulkan.SubgroupInfo{Known: true, Size: 8, ComputeSupports: true, Operations: vulkan.SubgroupBasic | vulkan.SubgroupArithmetic},
		MemoryHeaps:   []vulkan.MemoryHeap{{Size: 2 << 30, DeviceLocal: true}},
		MemoryTypes:   []vulkan.MemoryType{{Flags: vulkan.MemDeviceLocal | vulkan.MemHostVisible | vulkan.MemHostCoherent}},
		QueueFamilies: []vulkan.QueueFamily{{Flags: 7, Count: 1, TimestampValidBits: 64}},
	}
	var buf bytes.Buffer
	printDevice(&buf, d)
	out := buf.String()
	for _, want := range []string{
		"device 0: llvmpipe", "type:            CPU", "API version:     1.3.230", "Mesa 22.3.6",
		"maxComputeWorkGroupCount:        [65535 65535 65535]", "maxStorageBufferRange:           134217728 bytes (128.0 MiB)",
		"minStorageBufferOffsetAlignment: 16", "maxPushConstantsSize:            128 bytes", "32768 bytes",
		"subgroup:        size 8, compute true, ops basic,arithmetic", "0: 2.0 GiB DEVICE_LOCAL",
		"0: heap 0, DEVICE_LOCAL|HOST_VISIBLE|HOST_COHERENT", "graphics|compute|transfer",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestDevices prints the real devices when a loader and driver exist.
func TestDevices(t *testing.T) {
	devs, err := vulkan.Devices()
	if err != nil {
		if os.Getenv("VKGRAD_REQUIRE_VULKAN") == "1" {
			t.Fatalf("VKGRAD_REQUIRE_VULKAN=1 but no Vulkan: %v", err)
		}
		t.Skipf("no Vulkan: %v", err)
	}
	for _, d := range devs {
		var buf bytes.Buffer
		printDevice(&buf, d)
		if !strings.Contains(buf.String(), d.Name) || !strings.Contains(buf.String(), "maxStorageBufferRange") {
			t.Errorf("device %d rendered as:\n%s", d.Index, buf.String())
		}
	}
}
