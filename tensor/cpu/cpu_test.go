package cpu_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
	"github.com/vkgrad/vkgrad/tensor/backendtest"
	"github.com/vkgrad/vkgrad/tensor/cpu"
)

func TestConformance(t *testing.T) {
	b, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	// A second instance is an independent oracle object; the comparison
	// checks determinism, the paired strided-vs-dense outputs and the guard
	// regions.
	backendtest.RunAll(t, b, cpu.New())
}

func TestGolden(t *testing.T) {
	backendtest.RunGolden(t, cpu.New())
}

func TestCapsListsEveryOp(t *testing.T) {
	notOps := map[string]bool{"Name": true, "Caps": true, "Alloc": true, "Write": true, "WriteInt32": true,
		"Read": true, "ReadInt32": true, "Sync": true}
	caps := cpu.New().Caps()
	listed := map[string]bool{}
	for _, op := range caps.Ops {
		listed[op] = true
	}
	it := reflect.TypeOf((*tensor.Backend)(nil)).Elem()
	for i := range it.NumMethod() {
		if name := it.Method(i).Name; !notOps[name] && !listed[name] {
			t.Errorf("Caps().Ops lacks %s", name)
		}
	}
	if caps.Device == "" || caps.Async {
		t.Errorf("caps %+v", caps)
	}
}

// The backend reports bad views and buffers as errors, never panics.
func TestBackendErrors(t *testing.T) {
	b := cpu.New()
	f, _ := b.Alloc(6, tensor.Float32)
	i, _ := b.Alloc(6, tensor.Int32)
	if err := b.WriteInt32(i, 0, []int32{0, 1, 2, 3, 4, 5}); err != nil {
		t.Fatal(err)
	}
	dense := func(buf tensor.Buffer, off int, shape ...int) tensor.View {
		return tensor.View{Buf: buf, Offset: off, Shape: shape, Strides: tensor.ContiguousStrides(shape)}
	}
	released, _ := b.Alloc(6, tensor.Float32)
	released.Release()
	released.Release() // twice is a no-op
	tests := []struct {
		name string
		err  error
		frag string
	}{
		{"write past end", b.Write(f, 4, []float32{1, 2, 3}), "buffer of 6"},
		{"read int as float", b.Read(i, 0, make([]float32, 1)), "want float32"},
		{"write float as int", b.WriteInt32(f, 0, []int32{1}), "want int32"},
		{"read negative", b.ReadInt32(i, -1, make([]int32, 1)), "at -1"},
		{"view past end", b.Unary(tensor.OpNeg, dense(f, 0, 6), dense(f, 1, 6), 0, 0), "exceeds buffer of 6"},
		{"strided past end", b.Copy(dense(f, 0, 2, 3), tensor.View{Buf: f, Shape: []int{2, 3}, Strides: []int{3, 2}}), "exceeds buffer"},
		{"copy dtypes", b.Copy(dense(f, 0, 6), dense(i, 0, 6)), "out is float32, x is int32"},
		{"shape mismatch", b.Binary(tensor.OpAdd, dense(f, 0, 6), dense(f, 0, 2, 3), dense(f, 0, 6)), "differ"},
		{"released", b.Unary(tensor.OpNeg, dense(released, 0, 6), dense(f, 0, 6), 0, 0), "released"},
		{"unknown unary", b.Unary(tensor.UnaryOp(99), dense(f, 0, 6), dense(f, 0, 6), 0, 0), "not implemented"},
		{"unknown reduce", b.Reduce(tensor.ReduceOp(99), dense(f, 0, 1), dense(f, 0, 6), 1, 6, 1), "not implemented"},
		{"reduce sizes", b.Reduce(tensor.ReduceSum, dense(f, 0, 1), dense(f, 0, 6), 1, 7, 1), "needs 7 elements"},
		{"matmul sizes", b.MatMul(dense(f, 0, 1, 2, 2), dense(f, 0, 1, 2, 2), dense(f, 0, 1, 2, 2), 1, 2, 2, 4, false, false), "needs 8 elements"},
		{"index range", b.IndexSelect(dense(f, 0, 6), dense(f, 0, 6), tensor.View{Buf: i, Shape: []int{6}, Strides: []int{1}}, 1, 1, 1), "out of range [0, 1)"},
		{"conv params", b.Conv2D(dense(f, 0, 6), dense(f, 0, 6), dense(f, 0, 6), tensor.View{}, tensor.Conv2DParams{N: 1}), "invalid parameters"},
		{"adam step", b.AdamUpdate(dense(f, 0, 6), dense(f, 0, 6), dense(f, 0, 6), dense(f, 0, 6), tensor.AdamParams{}), "step must be >= 1"},
		{"sgd lengths", b.SGDUpdate(dense(f, 0, 6), dense(f, 0, 5), dense(f, 0, 6), tensor.SGDParams{}), "grad has 5 elements"},
	}
	for _, tc := range tests {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(tc.err.Error(), tc.frag) {
			t.Errorf("%s: error %q does not mention %q", tc.name, tc.err, tc.frag)
		}
	}
}

func TestAllocZeroed(t *testing.T) {
	b := cpu.New()
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Int32} {
		buf, err := b.Alloc(1000, dt)
		if err != nil || buf.Len() != 1000 || buf.DType() != dt {
			t.Fatalf("Alloc(%s): %v %v", dt, buf, err)
		}
		fs, is := make([]float32, 1000), make([]int32, 1000)
		if dt == tensor.Float32 {
			err = b.Read(buf, 0, fs)
		} else {
			err = b.ReadInt32(buf, 0, is)
		}
		if err != nil {
			t.Fatal(err)
		}
		for j := range fs {
			if fs[j] != 0 || is[j] != 0 {
				t.Fatalf("%s element %d not zero", dt, j)
			}
		}
	}
	if _, err := b.Alloc(-1, tensor.Float32); err == nil {
		t.Error("negative alloc succeeded")
	}
	if _, err := tensor.Open("cpu:gpu0"); err == nil {
		t.Error("cpu accepted a configuration")
	}
}
