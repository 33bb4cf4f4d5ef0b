//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
	"github.com/vkgrad/vkgrad/tensor/backendtest"
)

// TestKernelFamilies runs matmuls and convolutions of awkward shapes with
// every kernel family forced (VKGRAD_KERNELS) and compares them with the
// CPU backend: transposed and broadcast operands, sizes that are not
// multiples of the tiles or of 4, K tails, offsets that break vec4
// alignment, strides, padding and 1x1 kernels.
func TestKernelFamilies(t *testing.T) {
	b := testBackend(t)
	cb := cpuBackend(t)
	rng := rand.New(rand.NewPCG(3, 9))
	rnd := func(shape ...int) []float32 {
		d := make([]float32, tensor.Numel(shape))
		for i := range d {
			d[i] = rng.Float32()*2 - 1
		}
		return d
	}
	type mm struct {
		ba, bb, m, n, k int
		ta, tb          bool
		off             int // leading elements before a's and b's data
	}
	mms := []mm{
		{1, 1, 64, 64, 64, false, false, 0},
		{1, 1, 37, 53, 29, false, false, 0},  // odd everything, K tail
		{1, 1, 19, 36, 40, false, true, 0},   // B contiguous along K
		{1, 1, 23, 44, 17, true, false, 0},   // transposed A
		{1, 1, 9, 10, 11, true, true, 0},     // both transposed
		{3, 3, 17, 20, 24, false, false, 0},  // batched
		{1, 4, 8, 12, 16, false, true, 0},    // A broadcast over the batch
		{2, 1, 5, 8, 12, false, false, 0},    // B broadcast
		{1, 1, 16, 16, 16, false, false, 2},  // misaligned offsets
		{1, 1, 200, 60, 512, false, true, 0}, // a Linear head
		{1, 1, 1, 1, 1, false, false, 0},     // scalar
		{1, 1, 33, 7, 1000, false, false, 0}, // narrow output
		{1, 1, 4, 4, 70001, false, false, 0}, // K beyond the loop limit
	}
	type cv struct {
		n, cin, h, cout, k, s, pad int
		bias                       bool
	}
	cvs := []cv{
		{2, 3, 7, 5, 3, 1, 1, true},
		{3, 8, 9, 12, 3, 2, 1, false},
		{2, 6, 8, 4, 1, 2, 0, true},
		{1, 1, 10, 32, 3, 1, 0, true},
		{2, 16, 4, 16, 3, 1, 1, false},
		{1, 5, 6, 3, 2, 2, 0, false},
		{2, 7, 5, 9, 5, 1, 2, true},
	}
	for _, fam := range []string{"generic", "bcast", "tiled", "auto"} {
		t.Run(fam, func(t *testing.T) {
			t.Setenv(EnvKernels, fam)
			for _, c := range mms {
				name := fmt.Sprintf("matmul-%dx%d-%dx%dx%d-ta%v-tb%v-off%d", c.ba, c.bb, c.m, c.n, c.k, c.ta, c.tb, c.off)
				as, bs := []int{c.ba, c.m, c.k}, []int{c.bb, c.k, c.n}
				if c.ta {
					as = []int{c.ba, c.k, c.m}
				}
				if c.tb {
					bs = []int{c.bb, c.n, c.k}
				}
				ad, bd := rnd(tensor.Numel(as)+c.off), rnd(tensor.Numel(bs)+c.off)
				run := func(be tensor.Backend) []float32 {
					a := tensor.Reshape(tensor.Slice(tensor.FromSlice(be, ad, len(ad)), 0, c.off, len(ad)), as...)
					bm := tensor.Reshape(tensor.Slice(tensor.FromSlice(be, bd, len(bd)), 0, c.off, len(bd)), bs...)
					return tensor.MatMulT(a, bm, c.ta, c.tb).Float32s()
				}
				if err := backendtest.Compare(run(b), run(cb), 1e-9); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			for _, c := range cvs {
				name := fmt.Sprintf("conv-n%d-c%d-%dx%d-o%d-k%ds%dp%d-bias%v", c.n, c.cin, c.h, c.h, c.cout, c.k, c.s, c.pad, c.bias)
				xs, ws := []int{c.n, c.cin, c.h, c.h}, []int{c.cout, c.cin, c.k, c.k}
				oh := tensor.ConvOutSize(c.h, c.k, c.s, c.pad)
				ys := []int{c.n, c.cout, oh, oh}
				xd, wd, yd, bd := rnd(xs...), rnd(ws...), rnd(ys...), rnd(c.cout)
				run := func(be tensor.Backend) [][]float32 {
					x, w, dy := tensor.FromSlice(be, xd, xs...), tensor.FromSlice(be, wd, ws...), tensor.FromSlice(be, yd, ys...)
					var bias *tensor.Tensor
					if c.bias {
						bias = tensor.FromSlice(be, bd, c.cout)
					}
					return [][]float32{
						tensor.Conv2D(x, w, bias, c.s, c.pad).Float32s(),
						tensor.Conv2DBackwardData(dy, w, xs, c.s, c.pad).Float32s(),
						tensor.Conv2DBackwardWeight(x, dy, ws, c.s, c.pad).Float32s(),
					}
				}
				got, want := run(b), run(cb)
				for i, dir := range []string{"forward", "backward-data", "backward-weight"} {
					if err := backendtest.Compare(got[i], want[i], 1e-9); err != nil {
						t.Errorf("%s %s: %v", name, dir, err)
					}
				}
			}
			if err := b.Sync(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestKernelSelection checks the device-class rules and the override.
func TestKernelSelection(t *testing.T) {
	b := testBackend(t)
	pcNN := pcMatmul{BSk: 64, BSn: 1}
	cases := []struct {
		env        string
		conv, want kernelFamily
		mm         kernelFamily
	}{
		{"generic", familyGeneric, 0, familyGeneric},
		{"tiled", familyGeneric, 0, familyTiled},
	}
	for _, c := range cases {
		t.Setenv(EnvKernels, c.env)
		if got := b.family(true); got != c.conv {
			t.Errorf("%s: conv family %d, want %d", c.env, got, c.conv)
		}
		if got := b.family(false); got != c.mm {
			t.Errorf("%s: matmul family %d, want %d", c.env, got, c.mm)
		}
	}
	t.Setenv(EnvKernels, "")
	wantAuto := familyTiled
	if b.info.Type == "CPU" {
		wantAuto = familyGeneric
		if b.broadcastOK(bcastWG) {
			wantAuto = familyBcast
		}
	}
	if got := b.family(false); got != wantAuto {
		t.Errorf("auto on a %s device: family %d, want %d", b.info.Type, got, wantAuto)
	}
	if wantAuto == familyBcast {
		for _, c := range []struct {
			pc      pcMatmul
			n, k    int
			want    string
			wantSub uint32
		}{
			{pcNN, 64, 64, "mm_bcast_b4n", 0},
			{pcMatmul{BSk: 1, BSn: 64}, 60, 64, "mm_bcast_b4k", 0},
			{pcMatmul{BSk: 1, BSn: 63}, 60, 63, "mm_bcast_b1", 0},
			{pcMatmul{BSk: 64, BSn: 1, BOff: 2}, 64, 64, "mm_bcast_b1", 0},
		} {
			if got := b.matmulConfig(c.pc, 16, c.n, c.k); got.name != c.want {
				t.Errorf("strides %+v: %s, want %s", c.pc, got.name, c.want)
			}
		}
	}
	// The rules never pick the broadcast kernels without the subgroup
	// operations they need.
	saved := b.info.Subgroup
	defer func() { b.info.Subgroup = saved }()
	for _, sg := range []SubgroupInfo{
		{Known: false, Size: 8, ComputeSupports: true, Operations: SubgroupBasic | SubgroupBallot},
		{Known: true, Size: 4, ComputeSupports: true, Operations: SubgroupBasic | SubgroupBallot},
		{Known: true, Size: 8, ComputeSupports: true, Operations: SubgroupBasic},
		{Known: true, Size: 64, ComputeSupports: true, Operations: SubgroupBasic | SubgroupBallot},
		{Known: true, Size: 8, ComputeSupports: false, Operations: SubgroupBasic | SubgroupBallot},
	} {
		b.info.Subgroup = sg
		if b.broadcastOK(bcastWG) {
			t.Errorf("broadcast kernels allowed with %+v", sg)
		}
	}
}
