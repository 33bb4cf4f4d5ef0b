package nn

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nlpodyssey/safetensors"
)

// TestSafetensorsInterop checks the writer and the reader against an
// independent implementation (github.com/nlpodyssey/safetensors, a port of
// the reference Rust crate with its validation): files vkgrad writes parse
// there with the same names, dtypes, shapes, bytes and metadata, and a
// state dict that library serialises loads here.
func TestSafetensorsInterop(t *testing.T) {
	b := cpu(t)
	e := smallReleased(t, 1, 8)
	opt, err := NewAdam(e.Params(), DefaultAdamConfig())
	if err != nil {
		t.Fatal(err)
	}
	trainStep(t, e, opt, randInput(b, 2, 2, 1, 32, 32), randInput(b, 3, 2, 8))
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	if err := SaveCheckpoint(path, e, opt, Meta{Step: 5, Epoch: 2}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := safetensors.Deserialize(raw)
	if err != nil {
		t.Fatalf("reference reader rejects our file: %v", err)
	}
	mine, meta, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if lib.Len() != len(mine) || lib.Len() != len(modelSlots(e))+len(opt.State()) {
		t.Fatalf("reference reader sees %d tensors, we see %d, model+optimizer have %d", lib.Len(), len(mine), len(modelSlots(e))+len(opt.State()))
	}
	_, md, err := safetensors.ReadMetadata(raw)
	if err != nil {
		t.Fatal(err)
	}
	libMeta := md.Metadata()
	if libMeta["step"] != "5" || libMeta["epoch"] != "2" || libMeta["format"] != meta["format"] {
		t.Errorf("metadata seen by the reference reader: %v", libMeta)
	}
	for _, nt := range lib.Tensors() {
		h, ok := mine[nt.Name]
		if !ok {
			t.Fatalf("%s: only the reference reader sees it", nt.Name)
		}
		tv := nt.TensorView
		shape := make([]int, len(tv.Shape()))
		for i, d := range tv.Shape() {
			shape[i] = int(d)
		}
		if tv.DType().String() != h.DType || !slices.Equal(shape, h.Shape) {
			t.Fatalf("%s: reference %s %v, ours %s %v", nt.Name, tv.DType(), shape, h.DType, h.Shape)
		}
		switch h.DType {
		case "F32":
			for i, v := range h.Floats {
				if math.Float32bits(v) != binary.LittleEndian.Uint32(tv.Data()[4*i:]) {
					t.Fatalf("%s[%d] differs", nt.Name, i)
				}
			}
		case "I64":
			if int64(binary.LittleEndian.Uint64(tv.Data())) != h.Ints[0] {
				t.Fatalf("%s differs", nt.Name)
			}
		}
	}

	// The other direction: a state dict serialised by the library. Its
	// NewTensorView counts a scalar shape [] as 0 elements, so it cannot
	// build num_batches_tracked; those are left out and reported missing.
	views := map[string]safetensors.TensorView{}
	var counters []string
	for _, s := range modelSlots(e) {
		if s.Counter != nil {
			counters = append(counters, s.Name)
			continue
		}
		var data []byte
		for _, x := range s.Tensor.Float32s() {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(x))
		}
		shape := []uint64{}
		for _, d := range s.Shape() {
			shape = append(shape, uint64(d))
		}
		v, err := safetensors.NewTensorView(safetensors.F32, shape, data)
		if err != nil {
			t.Fatal(err)
		}
		views[s.Name] = v
	}
	ser, err := safetensors.Serialize(views, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	libPath := filepath.Join(dir, "lib.safetensors")
	if err := os.WriteFile(libPath, ser, 0o644); err != nil {
		t.Fatal(err)
	}
	other := smallReleased(t, 77, 8)
	rep, err := LoadStateDict(libPath, other, false)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(counters)
	if !slices.Equal(rep.Missing, counters) || len(rep.Unexpected) != 0 {
		t.Fatalf("report %+v, want only the counters missing", rep)
	}
	for _, p := range e.Params() {
		if !equalF(p.Var.Value.Float32s(), paramValue(other, p.Name)) {
			t.Fatalf("%s differs after loading the library-written file", p.Name)
		}
	}
	ob := other.Buffers()
	for i, bf := range e.Buffers() {
		if bf.Tensor != nil && !equalF(bf.Tensor.Float32s(), ob[i].Tensor.Float32s()) {
			t.Fatalf("%s differs after loading the library-written file", bf.Name)
		}
	}
}
