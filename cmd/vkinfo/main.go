// Command vkinfo prints the Vulkan devices vkgrad can use: type, driver and
// API versions, the compute limits the backend depends on, subgroup
// properties, queue families and memory heaps/types. It needs only the
// runtime loader (libvulkan.so.1) and a driver.
package main

import (
	"fmt"
	"io"
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
		printDevice(os.Stdout, d)
	}
}

func mib(b uint64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func printDevice(w io.Writer, d vulkan.DeviceInfo) {
	fmt.Fprintf(w, "device %d: %s\n", d.Index, d.Name)
	fmt.Fprintf(w, "  type:            %s (vendor 0x%04x, device 0x%04x)\n", d.Type, d.VendorID, d.DeviceID)
	fmt.Fprintf(w, "  API version:     %s\n", vulkan.VersionString(d.APIVersion))
	drv := d.DriverVersionString()
	if d.DriverName != "" {
		drv = fmt.Sprintf("%s (%s, %s)", drv, d.DriverName, d.DriverInfo)
	}
	fmt.Fprintf(w, "  driver version:  %s\n", drv)
	l := d.Limits
	fmt.Fprintln(w, "  limits:")
	fmt.Fprintf(w, "    maxComputeWorkGroupCount:        %v\n", l.MaxComputeWorkGroupCount)
	fmt.Fprintf(w, "    maxComputeWorkGroupSize:         %v\n", l.MaxComputeWorkGroupSize)
	fmt.Fprintf(w, "    maxComputeWorkGroupInvocations:  %d\n", l.MaxComputeWorkGroupInvocations)
	fmt.Fprintf(w, "    maxComputeSharedMemorySize:      %d bytes\n", l.MaxComputeSharedMemorySize)
	fmt.Fprintf(w, "    maxStorageBufferRange:           %d bytes (%s)\n", l.MaxStorageBufferRange, mib(uint64(l.MaxStorageBufferRange)))
	fmt.Fprintf(w, "    minStorageBufferOffsetAlignment: %d\n", l.MinStorageBufferOffsetAlignment)
	fmt.Fprintf(w, "    maxPushConstantsSize:            %d bytes\n", l.MaxPushConstantsSize)
	fmt.Fprintf(w, "    maxBoundDescriptorSets:          %d\n", l.MaxBoundDescriptorSets)
	fmt.Fprintf(w, "    maxPerStageStorageBuffers:       %d\n", l.MaxPerStageStorageBuffers)
	fmt.Fprintf(w, "    maxMemoryAllocationCount:        %d\n", l.MaxMemoryAllocationCount)
	if l.MaxMemoryAllocationSize != 0 {
		fmt.Fprintf(w, "    maxMemoryAllocationSize:         %s\n", mib(l.MaxMemoryAllocationSize))
	}
	fmt.Fprintf(w, "    nonCoherentAtomSize:             %d\n", l.NonCoherentAtomSize)
	fmt.Fprintf(w, "    timestamps:                      %v (period %g ns)\n", l.TimestampComputeAndGraphics, l.TimestampPeriod)
	if d.Subgroup.Known {
		fmt.Fprintf(w, "  subgroup:        size %d, compute %v, ops %s\n", d.Subgroup.Size, d.Subgroup.ComputeSupports, strings.Join(d.Subgroup.OperationNames(), ","))
	} else {
		fmt.Fprintln(w, "  subgroup:        unknown (vkGetPhysicalDeviceProperties2 unavailable)")
	}
	fmt.Fprintln(w, "  queue families:")
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
		fmt.Fprintf(w, "    %d: %d queue(s), %s, timestamp bits %d%s\n", i, q.Count, strings.Join(caps, "|"), q.TimestampValidBits, mark)
	}
	fmt.Fprintln(w, "  memory heaps:")
	for i, h := range d.MemoryHeaps {
		loc := ""
		if h.DeviceLocal {
			loc = " DEVICE_LOCAL"
		}
		fmt.Fprintf(w, "    %d: %s%s\n", i, mib(h.Size), loc)
	}
	fmt.Fprintln(w, "  memory types:")
	for i, t := range d.MemoryTypes {
		fmt.Fprintf(w, "    %d: heap %d, %s\n", i, t.HeapIndex, t.FlagNames())
	}
}
