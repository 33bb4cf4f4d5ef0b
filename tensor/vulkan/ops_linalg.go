//go:build cgo && linux && !android

package vulkan

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

type pcReduce struct {
	Outer, N, Inner, Op, XOff, OutOff, Pad0, Pad1 uint32
}

type pcMatmul struct {
	M, N, K, Z0           uint32
	AOff, BOff, COff      uint32
	GX0                   uint32
	ABs, ASm, ASk, GY0    uint32
	BBs, BSk, BSn, KSplit uint32
	Batch                 uint32
}

type pcL2 struct {
	Rows, D, XOff, OutOff uint32
	Eps                   float32
}

// reduceSeq chooses between the invocation-per-output kernel (small
// reductions, many outputs) and the workgroup-per-output tree reduction.
func reduceSeq(n, outputs int) bool {
	return n <= 32 || (outputs >= 4096 && n <= 512)
}

// Reduce reduces the middle axis of a dense x [outer, n, inner] into a
// dense out [outer, inner] (int32 for argmax).
func (b *Backend) Reduce(op tensor.ReduceOp, out, x tensor.View, outer, n, inner int) error {
	name := "Reduce " + op.String()
	if op > tensor.ReduceVariance {
		return fmt.Errorf("vulkan: %s: %w", name, tensor.ErrNotImplemented)
	}
	if outer <= 0 || n <= 0 || inner <= 0 {
		return fmt.Errorf("vulkan: %s: invalid sizes outer=%d n=%d inner=%d", name, outer, n, inner)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	odt := tensor.Float32
	if op == tensor.ReduceArgmax {
		odt = tensor.Int32
	}
	oa, err := b.denseArg(name, "out", out, odt, outer*inner)
	if err != nil {
		return err
	}
	xa, err := b.denseArg(name, "x", x, tensor.Float32, outer*n*inner)
	if err != nil {
		return err
	}
	if handled, err := b.reduceFast(op, oa, out.Offset, xa, x.Offset, outer, n, inner); handled {
		return err
	}
	return b.reduce(op, oa, out.Offset, xa, x.Offset, outer, n, inner, reduceSeq(n, outer*inner))
}

// reduce records a reduction between raw arguments.
func (b *Backend) reduce(op tensor.ReduceOp, out arg, outOff int, x arg, xOff int, outer, n, inner int, seq bool) error {
	name := "reduce"
	if seq {
		name += "_seq"
	}
	if op == tensor.ReduceArgmax {
		name += "_argmax"
	}
	passes := uint64(1)
	if op == tensor.ReduceVariance {
		passes = 2
	}
	var spec map[int]uint32
	trips := passes * uint64(n)
	if !seq {
		wg := b.wgFor(128, uint64(n), passes)
		spec = map[int]uint32{0: wg}
		trips = passes * (ceilDiv(uint64(n), uint64(wg)) + treeTrips(wg))
	}
	if err := b.checkTrips("Reduce "+op.String(), trips); err != nil {
		return err
	}
	k, err := b.kernel(name, spec)
	if err != nil {
		return err
	}
	var g [3]uint32
	if seq {
		g, err = b.grid1(uint64(outer*inner), k)
	} else {
		g, err = b.grid(uint64(outer * inner))
	}
	if err != nil {
		return err
	}
	pc := pcReduce{Outer: uint32(outer), N: uint32(n), Inner: uint32(inner), Op: uint32(op), XOff: uint32(xOff), OutOff: uint32(outOff)}
	return b.dispatch(k, []arg{out, x}, pc, g)
}

// MatMul computes out[b] = op(a[b]) @ op(c[b]); see tensor.Backend.
func (b *Backend) MatMul(out, a, bm tensor.View, batch, m, n, k int, transA, transB bool) error {
	const name = "MatMul"
	if batch <= 0 || m <= 0 || n <= 0 || k <= 0 {
		return fmt.Errorf("vulkan: %s: invalid sizes batch=%d m=%d n=%d k=%d", name, batch, m, n, k)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	oa, err := b.denseArg(name, "out", out, tensor.Float32, batch*m*n)
	if err != nil {
		return err
	}
	type operand struct {
		arg        arg
		off        int
		bs, s0, s1 int // batch stride (0: broadcast), strides of the two matrix axes
	}
	mat := func(what string, v tensor.View, rows, cols int) (operand, error) {
		vb, lo, hi, err := b.view(name, what, v, tensor.Float32)
		if err != nil {
			return operand{}, err
		}
		r := len(v.Shape)
		if r != 2 && r != 3 {
			return operand{}, fmt.Errorf("vulkan: %s: %s has rank %d, want 2 or 3", name, what, r)
		}
		if v.Shape[r-2] != rows || v.Shape[r-1] != cols {
			return operand{}, fmt.Errorf("vulkan: %s: %s has shape %v, want [.. %d %d]", name, what, v.Shape, rows, cols)
		}
		o := operand{arg: arg{buf: vb, lo: lo, hi: hi}, off: v.Offset, s0: v.Strides[r-2], s1: v.Strides[r-1]}
		if r == 3 && v.Shape[0] != 1 {
			if v.Shape[0] != batch {
				return operand{}, fmt.Errorf("vulkan: %s: %s has batch %d, want %d or 1", name, what, v.Shape[0], batch)
			}
			o.bs = v.Strides[0]
		}
		return o, nil
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	A, err := mat("a", a, ar, ac)
	if err != nil {
		return err
	}
	B, err := mat("b", bm, br, bc)
	if err != nil {
		return err
	}
	pc := pcMatmul{M: uint32(m), N: uint32(n), K: uint32(k), AOff: uint32(A.off), BOff: uint32(B.off), COff: uint32(out.Offset),
		ABs: uint32(A.bs), ASm: uint32(A.s0), ASk: uint32(A.s1), BBs: uint32(B.bs), BSk: uint32(B.s0), BSn: uint32(B.s1)}
	if transA {
		pc.ASm, pc.ASk = uint32(A.s1), uint32(A.s0)
	}
	if transB {
		pc.BSk, pc.BSn = uint32(B.s1), uint32(B.s0)
	}
	choice := b.matmulConfig(pc, m, n, k)
	kern, err := b.kernel(choice.name, choice.spec)
	if err != nil {
		return err
	}
	tileM, tileN := choice.tile(kern)
	// Slices of K bound the loop length per invocation.
	ksplit := b.kSlices(choice, k)
	pc.KSplit, pc.Batch = uint32(ksplit), uint32(batch)
	launch := func(c arg) error {
		return b.dispatch3(kern, []arg{c, A.arg, B.arg}, ceilDiv(uint64(n), tileN), ceilDiv(uint64(m), tileM), uint64(batch)*ksplit,
			func(x0, y0, z0 uint32) any {
				p := pc
				p.GX0, p.GY0, p.Z0 = x0, y0, z0
				return p
			})
	}
	if ksplit == 1 {
		return launch(oa)
	}
	total := uint64(batch * m * n)
	scratchBytes := ksplit * total * 4
	if scratchBytes > uint64(b.info.Limits.MaxStorageBufferRange) {
		return fmt.Errorf("vulkan: %s: K=%d needs %d slices of partial products (%d bytes), more than maxStorageBufferRange %d on %s",
			name, k, ksplit, scratchBytes, b.info.Limits.MaxStorageBufferRange, b.desc)
	}
	// The operands are in use from here on (the allocation may collect
	// garbage, which must not recycle an operand the caller dropped).
	b.use(oa.buf, A.arg.buf, B.arg.buf)
	scratch, err := b.allocInternal(scratchBytes, kindDevice)
	if err != nil {
		return fmt.Errorf("vulkan: %s: split-K scratch: %w", name, err)
	}
	defer scratch.Release()
	pc.COff = 0
	if err := launch(bufArg(scratch)); err != nil {
		return err
	}
	return b.reduce(tensor.ReduceSum, oa, out.Offset, bufArg(scratch), 0, 1, int(ksplit), int(total), true)
}

func ceilDiv(a, b uint64) uint64 { return (a + b - 1) / b }

// dispatch3 launches a 3-D grid of gx*gy*gz workgroups, split into launches
// under maxComputeWorkGroupCount; push builds the push constants of the
// launch whose first workgroup is (x0, y0, z0).
func (b *Backend) dispatch3(k *kernel, args []arg, gx, gy, gz uint64, push func(x0, y0, z0 uint32) any) error {
	mx := b.info.Limits.MaxComputeWorkGroupCount
	for z0 := uint64(0); z0 < gz; z0 += uint64(mx[2]) {
		for y0 := uint64(0); y0 < gy; y0 += uint64(mx[1]) {
			for x0 := uint64(0); x0 < gx; x0 += uint64(mx[0]) {
				g := [3]uint32{uint32(min(gx-x0, uint64(mx[0]))), uint32(min(gy-y0, uint64(mx[1]))), uint32(min(gz-z0, uint64(mx[2])))}
				if err := b.dispatch(k, args, push(uint32(x0), uint32(y0), uint32(z0)), g); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// L2Normalize writes out = x / sqrt(sum(x^2) + eps) per row of x [rows, d].
func (b *Backend) L2Normalize(out, x tensor.View, rows, d int, eps float32) error {
	const name = "L2Normalize"
	if rows <= 0 || d <= 0 {
		return fmt.Errorf("vulkan: %s: invalid sizes rows=%d d=%d", name, rows, d)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	args, err := b.denseArgs(name, denseSpec{"out", out, tensor.Float32, rows * d}, denseSpec{"x", x, tensor.Float32, rows * d})
	if err != nil {
		return err
	}
	oa, xa := args[0], args[1]
	wg := b.wgFor(64, uint64(d), 2)
	if err := b.checkTrips(name, 2*ceilDiv(uint64(d), uint64(wg))+treeTrips(wg)); err != nil {
		return err
	}
	k, err := b.kernel("l2norm", map[int]uint32{0: wg})
	if err != nil {
		return err
	}
	g, err := b.grid(uint64(rows))
	if err != nil {
		return err
	}
	return b.dispatch(k, []arg{oa, xa}, pcL2{Rows: uint32(rows), D: uint32(d), XOff: uint32(x.Offset), OutOff: uint32(out.Offset), Eps: eps}, g)
}
