package shadergen

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// SPIRVMagic is the first word of every SPIR-V module.
const SPIRVMagic = 0x07230203

// Binding is one descriptor binding of set 0 as the shader declares it.
type Binding struct {
	Binding  int
	Writable bool // false when every alias is decorated NonWritable
}

// SpecConstant is a specialization constant and its default value (as raw
// 32-bit bits).
type SpecConstant struct {
	ID      int
	Default uint32
}

// Reflection is what the generator reads back from a compiled module.
type Reflection struct {
	Bindings         []Binding
	PushSize         int
	LocalSize        [3]uint32
	LocalSizeSpecIDs [3]int // -1 when the dimension is not specialisable
	SpecConstants    []SpecConstant
}

// SPIR-V opcodes, decorations and storage classes used by Reflect.
const (
	opExecutionMode         = 16
	opTypeInt               = 21
	opTypeFloat             = 22
	opTypeVector            = 23
	opTypeArray             = 28
	opTypeRuntimeArray      = 29
	opTypeStruct            = 30
	opTypePointer           = 32
	opConstant              = 43
	opSpecConstantTrue      = 48
	opSpecConstantFalse     = 49
	opSpecConstant          = 50
	opSpecConstantComposite = 51
	opVariable              = 59
	opDecorate              = 71
	opMemberDecorate        = 72

	decSpecID        = 1
	decArrayStride   = 6
	decBuiltIn       = 11
	decNonWritable   = 24
	decBinding       = 33
	decDescriptorSet = 34
	decOffset        = 35

	builtInWorkgroupSize = 25
	execLocalSize        = 17

	scPushConstant  = 9
	scUniform       = 2
	scStorageBuffer = 12
)

// Reflect parses a SPIR-V module (little-endian bytes) and extracts the
// bindings of set 0, the push-constant block size, the workgroup size and
// the specialization constants.
func Reflect(code []byte) (Reflection, error) {
	var r Reflection
	if len(code)%4 != 0 || len(code) < 20 {
		return r, fmt.Errorf("spirv: module of %d bytes is not a whole number of words", len(code))
	}
	words := make([]uint32, len(code)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(code[4*i:])
	}
	if words[0] != SPIRVMagic {
		return r, fmt.Errorf("spirv: bad magic %#x", words[0])
	}
	type typ struct {
		op   uint32
		args []uint32
	}
	types := map[uint32]*typ{}
	consts := map[uint32]uint32{}
	specID := map[uint32]int{}
	binding := map[uint32]int{}
	set := map[uint32]int{}
	nonWritableVar := map[uint32]bool{}
	nonWritableMember := map[uint32]bool{} // struct id -> any member NonWritable
	builtinWGS := uint32(0)
	type variable struct{ id, ptrType, sc uint32 }
	var vars []variable
	specDefaults := map[uint32]uint32{}
	composites := map[uint32][]uint32{}
	memberOffsets := map[uint32]map[uint32]uint32{}
	arrayStride := map[uint32]uint32{}
	r.LocalSizeSpecIDs = [3]int{-1, -1, -1}

	for i := 5; i < len(words); {
		n := int(words[i] >> 16)
		op := words[i] & 0xffff
		if n == 0 || i+n > len(words) {
			return r, fmt.Errorf("spirv: malformed instruction at word %d", i)
		}
		a := words[i+1 : i+n]
		switch op {
		case opExecutionMode:
			if len(a) >= 5 && a[1] == execLocalSize {
				r.LocalSize = [3]uint32{a[2], a[3], a[4]}
			}
		case opTypeInt, opTypeFloat, opTypeVector, opTypeArray, opTypeRuntimeArray, opTypeStruct, opTypePointer:
			types[a[0]] = &typ{op: op, args: a[1:]}
		case opConstant:
			if len(a) >= 3 {
				consts[a[1]] = a[2]
			}
		case opSpecConstant:
			if len(a) >= 3 {
				specDefaults[a[1]] = a[2]
				consts[a[1]] = a[2]
			}
		case opSpecConstantTrue:
			specDefaults[a[1]] = 1
		case opSpecConstantFalse:
			specDefaults[a[1]] = 0
		case opSpecConstantComposite:
			composites[a[1]] = append([]uint32(nil), a[2:]...)
		case opVariable:
			vars = append(vars, variable{id: a[1], ptrType: a[0], sc: a[2]})
		case opDecorate:
			if len(a) < 2 {
				break
			}
			switch a[1] {
			case decSpecID:
				specID[a[0]] = int(a[2])
			case decBinding:
				binding[a[0]] = int(a[2])
			case decDescriptorSet:
				set[a[0]] = int(a[2])
			case decNonWritable:
				nonWritableVar[a[0]] = true
			case decArrayStride:
				arrayStride[a[0]] = a[2]
			case decBuiltIn:
				if a[2] == builtInWorkgroupSize {
					builtinWGS = a[0]
				}
			}
		case opMemberDecorate:
			if len(a) < 3 {
				break
			}
			switch a[2] {
			case decNonWritable:
				nonWritableMember[a[0]] = true
			case decOffset:
				if memberOffsets[a[0]] == nil {
					memberOffsets[a[0]] = map[uint32]uint32{}
				}
				memberOffsets[a[0]][a[1]] = a[3]
			}
		}
		i += n
	}

	var sizeOf func(id uint32) (uint32, error)
	sizeOf = func(id uint32) (uint32, error) {
		t := types[id]
		if t == nil {
			return 0, fmt.Errorf("spirv: unknown type %%%d", id)
		}
		switch t.op {
		case opTypeInt, opTypeFloat:
			return t.args[0] / 8, nil
		case opTypeVector:
			s, err := sizeOf(t.args[0])
			return s * t.args[1], err
		case opTypeArray:
			st, ok := arrayStride[id]
			if !ok {
				return 0, fmt.Errorf("spirv: array %%%d without ArrayStride", id)
			}
			n, ok := consts[t.args[1]]
			if !ok {
				return 0, fmt.Errorf("spirv: array %%%d with unknown length", id)
			}
			return st * n, nil
		case opTypeStruct:
			var end uint32
			for m, mt := range t.args {
				off := memberOffsets[id][uint32(m)]
				s, err := sizeOf(mt)
				if err != nil {
					return 0, err
				}
				end = max(end, off+s)
			}
			return end, nil
		}
		return 0, fmt.Errorf("spirv: cannot size type op %d", t.op)
	}

	bind := map[int]*Binding{}
	for _, v := range vars {
		switch v.sc {
		case scPushConstant:
			pt := types[v.ptrType]
			if pt == nil || pt.op != opTypePointer {
				return r, fmt.Errorf("spirv: push constant variable %%%d has no pointer type", v.id)
			}
			s, err := sizeOf(pt.args[1])
			if err != nil {
				return r, fmt.Errorf("spirv: push constant block: %w", err)
			}
			r.PushSize = int(s)
		case scStorageBuffer, scUniform:
			b, ok := binding[v.id]
			if !ok {
				continue
			}
			if set[v.id] != 0 {
				return r, fmt.Errorf("spirv: binding %d uses descriptor set %d; only set 0 is supported", b, set[v.id])
			}
			if v.sc == scUniform {
				return r, fmt.Errorf("spirv: binding %d is a uniform buffer; only storage buffers are supported", b)
			}
			pt := types[v.ptrType]
			ro := nonWritableVar[v.id] || (pt != nil && nonWritableMember[pt.args[1]])
			if e, ok := bind[b]; ok {
				e.Writable = e.Writable || !ro
			} else {
				bind[b] = &Binding{Binding: b, Writable: !ro}
			}
		}
	}
	for _, b := range bind {
		r.Bindings = append(r.Bindings, *b)
	}
	sort.Slice(r.Bindings, func(i, j int) bool { return r.Bindings[i].Binding < r.Bindings[j].Binding })
	for i, b := range r.Bindings {
		if b.Binding != i {
			return r, fmt.Errorf("spirv: bindings must be 0..n-1 without gaps, got binding %d at position %d", b.Binding, i)
		}
	}

	byID := map[int]uint32{}
	for cid, sid := range specID {
		def, ok := specDefaults[cid]
		if !ok {
			continue
		}
		if prev, dup := byID[sid]; dup && prev != def {
			return r, fmt.Errorf("spirv: specialization constant %d has two defaults (%d and %d)", sid, prev, def)
		}
		byID[sid] = def
	}
	for sid, def := range byID {
		r.SpecConstants = append(r.SpecConstants, SpecConstant{ID: sid, Default: def})
	}
	sort.Slice(r.SpecConstants, func(i, j int) bool { return r.SpecConstants[i].ID < r.SpecConstants[j].ID })

	if builtinWGS != 0 {
		comp := composites[builtinWGS]
		if len(comp) == 3 {
			for d, c := range comp {
				if sid, ok := specID[c]; ok {
					r.LocalSizeSpecIDs[d] = sid
					r.LocalSize[d] = specDefaults[c]
				} else if v, ok := consts[c]; ok {
					r.LocalSize[d] = v
				}
			}
		}
	}
	if r.LocalSize[0] == 0 {
		return r, fmt.Errorf("spirv: no workgroup size found")
	}
	return r, nil
}
