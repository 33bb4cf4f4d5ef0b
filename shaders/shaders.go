// Package shaders holds vkgrad's GLSL compute shaders (glsl/), the SPIR-V
// compiled from them (spv/, committed and embedded) and the manifest that
// describes each module: bindings, push-constant size, workgroup size and
// specialization constants. Regenerate with `go generate ./shaders` (needs
// glslc and spirv-val); a test fails when the committed SPIR-V is stale.
package shaders

//go:generate go run ../cmd/shadergen -glsl glsl -out .

import (
	"embed"
	"encoding/binary"
	"fmt"
	"sort"
)

//go:embed spv/*.spv
var spv embed.FS

// Binding is one storage-buffer binding of descriptor set 0.
type Binding struct {
	Binding  int
	Writable bool // the shader may write it (not declared readonly)
}

// SpecConstant is a specialization constant id with its default value.
type SpecConstant struct {
	ID      int
	Default uint32
}

// Meta describes one compiled module.
type Meta struct {
	Name     string
	File     string   // source .comp file
	Defines  []string // preprocessor defines of this variant
	Bindings []Binding
	// PushSize is the size in bytes of the push-constant block (0: none).
	PushSize int
	// LocalSize is the default workgroup size.
	LocalSize [3]uint32
	// LocalSizeSpecIDs are the specialization ids of the workgroup size
	// dimensions (-1: fixed).
	LocalSizeSpecIDs [3]int
	SpecConstants    []SpecConstant
	// SourceSHA256 hashes the sources, defines and compiler flags.
	SourceSHA256 string
}

var byName = func() map[string]*Meta {
	m := make(map[string]*Meta, len(manifest))
	for i := range manifest {
		m[manifest[i].Name] = &manifest[i]
	}
	return m
}()

// Names lists the module names in sorted order.
func Names() []string {
	out := make([]string, 0, len(manifest))
	for _, m := range manifest {
		out = append(out, m.Name)
	}
	sort.Strings(out)
	return out
}

// Manifest returns a copy of every module's metadata.
func Manifest() []Meta { return append([]Meta(nil), manifest...) }

// Get returns the SPIR-V words and metadata of a module.
func Get(name string) ([]uint32, Meta, error) {
	meta, ok := byName[name]
	if !ok {
		return nil, Meta{}, fmt.Errorf("shaders: no module %q", name)
	}
	b, err := spv.ReadFile("spv/" + name + ".spv")
	if err != nil {
		return nil, Meta{}, fmt.Errorf("shaders: module %q: %w", name, err)
	}
	if len(b)%4 != 0 || len(b) < 20 {
		return nil, Meta{}, fmt.Errorf("shaders: module %q is %d bytes, not SPIR-V", name, len(b))
	}
	words := make([]uint32, len(b)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	if words[0] != 0x07230203 {
		return nil, Meta{}, fmt.Errorf("shaders: module %q has bad SPIR-V magic %#x", name, words[0])
	}
	return words, *meta, nil
}
