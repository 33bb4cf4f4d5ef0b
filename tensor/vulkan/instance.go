//go:build cgo && linux && !android

package vulkan

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	vk "github.com/vulkan-go/vulkan"

	"github.com/vkgrad/vkgrad/tensor"
)

const validationLayer = "VK_LAYER_KHRONOS_validation"

// global holds the process-wide Vulkan instance, created on first use.
var global struct {
	once       sync.Once
	inst       vk.Instance
	validation bool
	err        error
}

// vkError converts a VkResult into an error (nil on success).
func vkError(r vk.Result) error {
	if r == vk.Success {
		return nil
	}
	if err := vk.Error(r); err != nil {
		return fmt.Errorf("%w (VkResult %d)", err, int32(r))
	}
	return fmt.Errorf("VkResult %d", int32(r))
}

func cstr(s string) string { return s + "\x00" }

// validationRequested reports whether VKGRAD_VALIDATION asks for the layer.
func validationRequested() bool {
	v := strings.ToLower(os.Getenv(EnvValidation))
	return v != "" && v != "0" && v != "false"
}

// ValidationEnabled reports whether the validation layer is active (the
// instance is created on first use, so this may create it).
func ValidationEnabled() bool {
	if _, err := instance(); err != nil {
		return false
	}
	return global.validation
}

// ValidationMessages drains and returns the validation-layer messages
// (warnings and errors) collected since the last call. It is empty unless
// VKGRAD_VALIDATION=1.
func ValidationMessages() []string {
	if !global.validation {
		return nil
	}
	return takeValidationMessages()
}

// instance returns the process-wide instance, loading the loader first.
func instance() (vk.Instance, error) {
	global.once.Do(func() {
		global.inst, global.err = createInstance()
	})
	return global.inst, global.err
}

func instanceLayers() []string {
	var n uint32
	if vk.EnumerateInstanceLayerProperties(&n, nil) != vk.Success || n == 0 {
		return nil
	}
	props := make([]vk.LayerProperties, n)
	if withoutGC(func() vk.Result { return vk.EnumerateInstanceLayerProperties(&n, props) }) != vk.Success {
		return nil
	}
	var out []string
	for i := range props[:n] {
		props[i].Deref()
		out = append(out, vk.ToString(props[i].LayerName[:]))
	}
	return out
}

func instanceExtensions(layer string) []string {
	var n uint32
	name := ""
	if layer != "" {
		name = cstr(layer)
	}
	if vk.EnumerateInstanceExtensionProperties(name, &n, nil) != vk.Success || n == 0 {
		return nil
	}
	props := make([]vk.ExtensionProperties, n)
	if withoutGC(func() vk.Result { return vk.EnumerateInstanceExtensionProperties(name, &n, props) }) != vk.Success {
		return nil
	}
	var out []string
	for i := range props[:n] {
		props[i].Deref()
		out = append(out, vk.ToString(props[i].ExtensionName[:]))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func createInstance() (vk.Instance, error) {
	if err := loadLoader(); err != nil {
		return nil, fmt.Errorf("vulkan: %w: %w", err, tensor.ErrUnavailable)
	}
	app := vk.ApplicationInfo{
		SType:            vk.StructureTypeApplicationInfo,
		PApplicationName: cstr("vkgrad"),
		PEngineName:      cstr("vkgrad"),
		ApiVersion:       vk.MakeVersion(1, 1, 0),
	}
	ci := vk.InstanceCreateInfo{
		SType:            vk.StructureTypeInstanceCreateInfo,
		PApplicationInfo: &app,
	}
	validation := validationRequested()
	if validation {
		if !contains(instanceLayers(), validationLayer) {
			return nil, fmt.Errorf("vulkan: %s=1 but %s is not installed (install vulkan-validationlayers)", EnvValidation, validationLayer)
		}
		exts := append(instanceExtensions(""), instanceExtensions(validationLayer)...)
		if !contains(exts, "VK_EXT_debug_utils") {
			return nil, fmt.Errorf("vulkan: %s=1 but VK_EXT_debug_utils is not available", EnvValidation)
		}
		ci.EnabledLayerCount = 1
		ci.PpEnabledLayerNames = []string{cstr(validationLayer)}
		ci.EnabledExtensionCount = 1
		ci.PpEnabledExtensionNames = []string{cstr("VK_EXT_debug_utils")}
		ci.PNext = debugMessengerCreateInfo()
	}
	var inst vk.Instance
	r := withoutGC(func() vk.Result { return vk.CreateInstance(&ci, nil, &inst) })
	if r == vk.ErrorIncompatibleDriver {
		return nil, fmt.Errorf("vulkan: no Vulkan 1.1 driver found (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER; install mesa-vulkan-drivers or a GPU driver, or check VK_ICD_FILENAMES): %w", tensor.ErrUnavailable)
	}
	if err := vkError(r); err != nil {
		return nil, fmt.Errorf("vulkan: vkCreateInstance (API 1.1): %w: %w", err, tensor.ErrUnavailable)
	}
	if err := vk.InitInstance(inst); err != nil {
		return nil, fmt.Errorf("vulkan: %w: %w", err, tensor.ErrUnavailable)
	}
	if validation {
		if err := createDebugMessenger(inst); err != nil {
			return nil, fmt.Errorf("vulkan: %w", err)
		}
		global.validation = true
	}
	return inst, nil
}

// physicalDevices returns the device handles in driver order.
func physicalDevices(inst vk.Instance) ([]vk.PhysicalDevice, error) {
	var n uint32
	if err := vkError(vk.EnumeratePhysicalDevices(inst, &n, nil)); err != nil {
		return nil, fmt.Errorf("vulkan: vkEnumeratePhysicalDevices: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	pds := make([]vk.PhysicalDevice, n)
	if err := vkError(vk.EnumeratePhysicalDevices(inst, &n, pds)); err != nil {
		return nil, fmt.Errorf("vulkan: vkEnumeratePhysicalDevices: %w", err)
	}
	return pds[:n], nil
}

// describe reads everything the backend and vkinfo need about pd.
func describe(inst vk.Instance, pd vk.PhysicalDevice, index int) DeviceInfo {
	var p vk.PhysicalDeviceProperties
	vk.GetPhysicalDeviceProperties(pd, &p)
	p.Deref()
	p.Limits.Deref()
	l := p.Limits
	d := DeviceInfo{
		Index:         index,
		Name:          vk.ToString(p.DeviceName[:]),
		Type:          deviceTypeName(uint32(p.DeviceType)),
		VendorID:      p.VendorID,
		DeviceID:      p.DeviceID,
		APIVersion:    p.ApiVersion,
		DriverVersion: p.DriverVersion,
		Limits: Limits{
			MaxComputeWorkGroupCount:        l.MaxComputeWorkGroupCount,
			MaxComputeWorkGroupSize:         l.MaxComputeWorkGroupSize,
			MaxComputeWorkGroupInvocations:  l.MaxComputeWorkGroupInvocations,
			MaxComputeSharedMemorySize:      l.MaxComputeSharedMemorySize,
			MaxStorageBufferRange:           l.MaxStorageBufferRange,
			MinStorageBufferOffsetAlignment: uint64(l.MinStorageBufferOffsetAlignment),
			MaxPushConstantsSize:            l.MaxPushConstantsSize,
			MaxBoundDescriptorSets:          l.MaxBoundDescriptorSets,
			MaxPerStageStorageBuffers:       l.MaxPerStageDescriptorStorageBuffers,
			MaxMemoryAllocationCount:        l.MaxMemoryAllocationCount,
			NonCoherentAtomSize:             uint64(l.NonCoherentAtomSize),
			TimestampComputeAndGraphics:     l.TimestampComputeAndGraphics != 0,
			TimestampPeriod:                 l.TimestampPeriod,
		},
		ComputeQueueFamily: -1,
	}
	if p.ApiVersion >= vk.MakeVersion(1, 1, 0) {
		p2 := physicalDeviceProps2(inst, pd, p.ApiVersion >= vk.MakeVersion(1, 2, 0))
		if p2.ok {
			d.Subgroup = SubgroupInfo{
				Known:           true,
				Size:            p2.subgroupSize,
				Stages:          p2.subgroupStages,
				Operations:      p2.subgroupOps,
				QuadAllStages:   p2.subgroupQuadAllStages,
				ComputeSupports: p2.subgroupStages&uint32(vk.ShaderStageComputeBit) != 0,
			}
			d.Limits.MaxMemoryAllocationSize = p2.maxMemoryAllocationSize
			if p2.hasDriver {
				d.DriverName, d.DriverInfo = p2.driverName, p2.driverInfo
			}
		}
	}
	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(pd, &mp)
	mp.Deref()
	for i := uint32(0); i < mp.MemoryHeapCount; i++ {
		h := mp.MemoryHeaps[i]
		h.Deref()
		d.MemoryHeaps = append(d.MemoryHeaps, MemoryHeap{Size: uint64(h.Size), DeviceLocal: h.Flags&vk.MemoryHeapFlags(vk.MemoryHeapDeviceLocalBit) != 0})
	}
	for i := uint32(0); i < mp.MemoryTypeCount; i++ {
		t := mp.MemoryTypes[i]
		t.Deref()
		d.MemoryTypes = append(d.MemoryTypes, MemoryType{HeapIndex: t.HeapIndex, Flags: uint32(t.PropertyFlags)})
	}
	var nq uint32
	vk.GetPhysicalDeviceQueueFamilyProperties(pd, &nq, nil)
	qs := make([]vk.QueueFamilyProperties, nq)
	withoutGC(func() vk.Result { vk.GetPhysicalDeviceQueueFamilyProperties(pd, &nq, qs); return vk.Success })
	for i := range qs[:nq] {
		qs[i].Deref()
		d.QueueFamilies = append(d.QueueFamilies, QueueFamily{Flags: uint32(qs[i].QueueFlags), Count: qs[i].QueueCount, TimestampValidBits: qs[i].TimestampValidBits})
	}
	d.ComputeQueueFamily = pickQueueFamily(d.QueueFamilies)
	return d
}

// pickQueueFamily prefers a compute-only family (an async compute queue),
// else any family with compute.
func pickQueueFamily(qf []QueueFamily) int {
	const graphics, compute = 1, 2
	best := -1
	for i, q := range qf {
		if q.Flags&compute == 0 || q.Count == 0 {
			continue
		}
		if q.Flags&graphics == 0 {
			return i
		}
		if best < 0 {
			best = i
		}
	}
	return best
}

// Devices lists every Vulkan physical device with its properties.
func Devices() ([]DeviceInfo, error) {
	inst, err := instance()
	if err != nil {
		return nil, err
	}
	pds, err := physicalDevices(inst)
	if err != nil {
		return nil, err
	}
	out := make([]DeviceInfo, len(pds))
	for i, pd := range pds {
		out[i] = describe(inst, pd, i)
	}
	return out, nil
}

// errNoDevice is wrapped when the loader works but reports no device.
var errNoDevice = errors.New("no Vulkan device found (is a driver such as mesa-vulkan-drivers installed?)")

// chooseDevice picks a device by spec: "" (VKGRAD_DEVICE, else the best
// type), an index, or a case-insensitive name substring.
func chooseDevice(devs []DeviceInfo, spec string) (int, error) {
	if len(devs) == 0 {
		return -1, fmt.Errorf("vulkan: %w: %w", errNoDevice, tensor.ErrUnavailable)
	}
	source := "backend spec"
	if spec == "" {
		spec = os.Getenv(EnvDevice)
		source = EnvDevice
	}
	names := make([]string, len(devs))
	for i, d := range devs {
		names[i] = fmt.Sprintf("%d:%q (%s)", i, d.Name, d.Type)
	}
	if spec != "" {
		if i, err := strconv.Atoi(spec); err == nil {
			if i < 0 || i >= len(devs) {
				return -1, fmt.Errorf("vulkan: %s device index %d out of range; devices: %s", source, i, strings.Join(names, ", "))
			}
			return i, nil
		}
		for i, d := range devs {
			if strings.Contains(strings.ToLower(d.Name), strings.ToLower(spec)) {
				return i, nil
			}
		}
		return -1, fmt.Errorf("vulkan: %s device %q matches no device; devices: %s", source, spec, strings.Join(names, ", "))
	}
	order := make([]int, 0, len(devs))
	for i, d := range devs {
		if d.ComputeQueueFamily >= 0 {
			order = append(order, i)
		}
	}
	if len(order) == 0 {
		return -1, fmt.Errorf("vulkan: no device has a compute queue; devices: %s: %w", strings.Join(names, ", "), tensor.ErrUnavailable)
	}
	sort.SliceStable(order, func(a, b int) bool { return typeRank(devs[order[a]].Type) < typeRank(devs[order[b]].Type) })
	return order[0], nil
}
