//go:build cgo && linux && !android

package vulkan

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"

	vk "github.com/vulkan-go/vulkan"

	"github.com/vkgrad/vkgrad/shaders"
)

// kernel is a compute pipeline built from one shader module with one set of
// specialization constants.
type kernel struct {
	name     string
	meta     shaders.Meta
	pipeline vk.Pipeline
	local    [3]uint32 // workgroup size after specialization
	spec     map[int]uint32
}

// createLayouts makes the one descriptor-set layout (8 storage buffers) and
// the one pipeline layout (128 bytes of push constants) all kernels share.
func (b *Backend) createLayouts() error {
	lb := make([]vk.DescriptorSetLayoutBinding, bindings)
	for i := range lb {
		lb[i] = vk.DescriptorSetLayoutBinding{
			Binding:         uint32(i),
			DescriptorType:  vk.DescriptorTypeStorageBuffer,
			DescriptorCount: 1,
			StageFlags:      vk.ShaderStageFlags(vk.ShaderStageComputeBit),
		}
	}
	dci := vk.DescriptorSetLayoutCreateInfo{SType: vk.StructureTypeDescriptorSetLayoutCreateInfo, BindingCount: bindings, PBindings: lb}
	var sl vk.DescriptorSetLayout
	err := vkError(withoutGC(func() vk.Result { return vk.CreateDescriptorSetLayout(b.dev, &dci, nil, &sl) }))
	dci.Free()
	if err != nil {
		return fmt.Errorf("vulkan: vkCreateDescriptorSetLayout on %s: %w", b.desc, err)
	}
	b.setLayout = sl
	pci := vk.PipelineLayoutCreateInfo{
		SType:                  vk.StructureTypePipelineLayoutCreateInfo,
		SetLayoutCount:         1,
		PSetLayouts:            []vk.DescriptorSetLayout{sl},
		PushConstantRangeCount: 1,
		PPushConstantRanges:    []vk.PushConstantRange{{StageFlags: vk.ShaderStageFlags(vk.ShaderStageComputeBit), Size: pushBytes}},
	}
	var pl vk.PipelineLayout
	err = vkError(withoutGC(func() vk.Result { return vk.CreatePipelineLayout(b.dev, &pci, nil, &pl) }))
	pci.Free()
	if err != nil {
		return fmt.Errorf("vulkan: vkCreatePipelineLayout on %s: %w", b.desc, err)
	}
	b.pipeLayout = pl
	return nil
}

func (b *Backend) module(name string) (vk.ShaderModule, shaders.Meta, error) {
	code, meta, err := shaders.Get(name)
	if err != nil {
		return vk.NullShaderModule, meta, err
	}
	if m, ok := b.modules[name]; ok {
		return m, meta, nil
	}
	for _, bd := range meta.Bindings {
		if bd.Binding < 0 || bd.Binding >= bindings {
			return vk.NullShaderModule, meta, fmt.Errorf("vulkan: shader %s uses binding %d; the shared descriptor-set layout has bindings 0..%d", name, bd.Binding, bindings-1)
		}
	}
	var pin runtime.Pinner
	pin.Pin(&code[0])
	defer pin.Unpin()
	ci := vk.ShaderModuleCreateInfo{SType: vk.StructureTypeShaderModuleCreateInfo, CodeSize: uint(4 * len(code)), PCode: code}
	var m vk.ShaderModule
	err = vkError(withoutGC(func() vk.Result { return vk.CreateShaderModule(b.dev, &ci, nil, &m) }))
	ci.Free()
	if err != nil {
		return vk.NullShaderModule, meta, fmt.Errorf("vulkan: vkCreateShaderModule(%s) on %s: %w", name, b.desc, err)
	}
	b.modules[name] = m
	return m, meta, nil
}

// fitLocalSize halves specialisable workgroup dimensions until the size
// fits the device limits.
func (b *Backend) fitLocalSize(meta shaders.Meta, spec map[int]uint32) {
	l := b.info.Limits
	size := func(d int) uint32 {
		if id := meta.LocalSizeSpecIDs[d]; id >= 0 {
			return spec[id]
		}
		return meta.LocalSize[d]
	}
	for {
		total := uint64(size(0)) * uint64(size(1)) * uint64(size(2))
		worst := -1
		for d := 0; d < 3; d++ {
			id := meta.LocalSizeSpecIDs[d]
			if id < 0 || size(d) <= 1 {
				continue
			}
			if size(d) > l.MaxComputeWorkGroupSize[d] || total > uint64(l.MaxComputeWorkGroupInvocations) {
				if worst < 0 || size(d) > size(worst) {
					worst = d
				}
			}
		}
		if worst < 0 {
			return
		}
		spec[meta.LocalSizeSpecIDs[worst]] /= 2
	}
}

// kernel returns the pipeline for a module with the given specialization
// constants (id -> value) over the manifest defaults, creating it on first
// use.
func (b *Backend) kernel(name string, overrides map[int]uint32) (*kernel, error) {
	mod, meta, err := b.module(name)
	if err != nil {
		return nil, err
	}
	spec := map[int]uint32{}
	for _, s := range meta.SpecConstants {
		spec[s.ID] = s.Default
	}
	for id, v := range overrides {
		if _, ok := spec[id]; !ok {
			return nil, fmt.Errorf("vulkan: kernel %s has no specialization constant %d", name, id)
		}
		spec[id] = v
	}
	b.fitLocalSize(meta, spec)
	var key strings.Builder
	key.WriteString(name)
	for _, s := range meta.SpecConstants {
		fmt.Fprintf(&key, ",%d=%d", s.ID, spec[s.ID])
	}
	if k, ok := b.kernels[key.String()]; ok {
		return k, nil
	}
	k := &kernel{name: name, meta: meta, spec: spec}
	for d := 0; d < 3; d++ {
		k.local[d] = meta.LocalSize[d]
		if id := meta.LocalSizeSpecIDs[d]; id >= 0 {
			k.local[d] = spec[id]
		}
	}
	ids := make([]uint32, len(meta.SpecConstants))
	values := make([]uint32, len(meta.SpecConstants))
	for i, s := range meta.SpecConstants {
		ids[i], values[i] = uint32(s.ID), spec[s.ID]
	}
	if b.quietCompiles {
		// Only the first use of a kernel gets here, so this wait costs
		// nothing in a steady training loop.
		if err := b.waitAll(); err != nil {
			return nil, err
		}
	}
	pipe, r := b.rawCreateCompute(mod, ids, values)
	if err := vkError(r); err != nil {
		return nil, fmt.Errorf("vulkan: vkCreateComputePipelines(%s) on %s: %w", key.String(), b.desc, err)
	}
	k.pipeline = pipe
	b.kernels[key.String()] = k
	b.stats.Pipelines++
	return k, nil
}

// encodePush serialises a push-constant struct and checks its size against
// the shader manifest.
func encodePush(k *kernel, push any) ([]byte, error) {
	if push == nil {
		if k.meta.PushSize != 0 {
			return nil, fmt.Errorf("vulkan: kernel %s needs %d bytes of push constants, got none", k.name, k.meta.PushSize)
		}
		return nil, nil
	}
	if sz := binary.Size(push); sz != k.meta.PushSize {
		return nil, fmt.Errorf("vulkan: kernel %s: push constants %T are %d bytes, the shader declares %d", k.name, push, sz, k.meta.PushSize)
	}
	out, err := binary.Append(make([]byte, 0, pushBytes), binary.LittleEndian, push)
	if err != nil {
		return nil, fmt.Errorf("vulkan: kernel %s: encoding push constants: %w", k.name, err)
	}
	return out, nil
}
