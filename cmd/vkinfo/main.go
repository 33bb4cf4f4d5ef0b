// Command vkinfo prints the Vulkan devices vkgrad can use: type, driver and
// API versions, the compute limits the backend depends on, subgroup
// properties, queue families and memory heaps/types. It needs only the
// runtime loader (libvulkan.so.1) and a driver.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/vkgrad/vkgrad/tensor/vulkan"
)

func main() {
	devs, err := vulkan.Devices()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vkinfo:", err)
		os.Exit(1)
	}
	if len(devs) == 0 {
		fmt.Println("no Vulkan devices")
		return
	}
	for _, d := range devs {
		printDevice(d)
	}
}

func mib(b uint64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func printDevice(d vulkan.DeviceInfo) {
	fmt.Printf("device %d: %s\n", d.Index, d.Name)
	fmt.Printf("  type:            %s (vendor 0x%04x, device 0x%04x)\n", d.Type, d.VendorID, d.DeviceID)
	fmt.Printf("  API version:     %s\n", vulkan.VersionString(d.APIVersion))
	drv := d.DriverVersionString()
	if d.DriverName != "" {
		drv = fmt.Sprintf("%s (%s, %s)", drv, d.DriverName, d.DriverInfo)
	}
	fmt.Printf("  driver version:  %s\n", drv)
	l := d.Limits
	fmt.Println("  limits:")
	fmt.Printf("    maxComputeWorkGroupCount:        %v\n", l.MaxComputeWorkGroupCount)
	fmt.Printf("    maxComputeWorkGroupSize:         %v\n", l.MaxComputeWorkGroupSize)
	fmt.Printf("    maxComputeWorkGroupInvocations:  %d\n", l.MaxComputeWorkGroupInvocations)
	fmt.Printf("    maxComputeSharedMemorySize:      %d bytes\n", l.MaxComputeSharedMemorySize)
	fmt.Printf("    maxStorageBufferRange:           %d bytes (%s)\n", l.MaxStorageBufferRange, mib(uint64(l.MaxStorageBufferRange)))
	fmt.Printf("    minStorageBufferOffsetAlignment: %d\n", l.MinStorageBufferOffsetAlignment)
	fmt.Printf("    maxPushConstantsSize:            %d bytes\n", l.MaxPushConstantsSize)
	fmt.Printf("    maxBoundDescriptorSets:          %d\n", l.MaxBoundDescriptorSets)
	fmt.Printf("    maxPerStageStorageBuffers:       %d\n", l.MaxPerStageStorageBuffers)
	fmt.Printf("    maxMemoryAllocationCount:        %d\n", l.MaxMemoryAllocationCount)
	if l.MaxMemoryAllocationSize != 0 {
		fmt.Printf("    maxMemoryAllocationSize:         %s\n", mib(l.MaxMemoryAllocationSize))
	}
	fmt.Printf("    nonCoherentAtomSize:             %d\n", l.NonCoherentAtomSize)
	fmt.Printf("    timestamps:                      %v (period %g ns)\n", l.TimestampComputeAndGraphics, l.TimestampPeriod)
	if d.Subgroup.Known {
		fmt.Printf("  subgroup:        size %d, compute %v, ops %s\n", d.Subgroup.Size, d.Subgroup.ComputeSupports, strings.Join(d.Subgroup.OperationNames(), ","))
	} else {
		fmt.Println("  subgroup:        unknown (vkGetPhysicalDeviceProperties2 unavailable)")
	}
	fmt.Println("  queue families:")
	for i, q := range d.QueueFamilies {
		var caps []string
		for bit, n := range []string{"graphics", "compute", "transfer", "sparse"} {
			if q.Flags&(1<<bit) != 0 {
				caps = append(caps, n)
			}
		}
		mark := ""
		if i == d.ComputeQueueFamily {
			mark = "  <- used"
		}
		fmt.Printf("    %d: %d queue(s), %s, timestamp bits %d%s\n", i, q.Count, strings.Join(caps, "|"), q.TimestampValidBits, mark)
	}
	fmt.Println("  memory heaps:")
	for i, h := range d.MemoryHeaps {
		loc := ""
		if h.DeviceLocal {
			loc = " DEVICE_LOCAL"
		}
		fmt.Printf("    %d: %s%s\n", i, mib(h.Size), loc)
	}
	fmt.Println("  memory types:")
	for i, t := range d.MemoryTypes {
		fmt.Printf("    %d: heap %d, %s\n", i, t.HeapIndex, t.FlagNames())
	}
}
