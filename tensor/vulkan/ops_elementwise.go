//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"slices"

	"github.com/vkgrad/vkgrad/tensor"
)

// Push-constant blocks of the strided elementwise kernels (std430 order).
type pcCopy struct {
	N, Rank, OutOff, XOff uint32
	Shape, OutSt, XSt     [maxRank]uint32
}

type pcUnary struct {
	N, Rank, OutOff, XOff, Op uint32
	Alpha, Beta               float32
	Pad                       uint32
	Shape, XSt                [maxRank]uint32
}

type pcBinary struct {
	N, Rank, OutOff, AOff, BOff, Op, Pad0, Pad1 uint32
	Shape, ASt, BSt                             [maxRank]uint32
}

type pcWhere struct {
	N, Rank, OutOff, COff, AOff, BOff, Pad0, Pad1 uint32
	Shape, CSt, ASt, BSt                          [maxRank]uint32
}

func sameShape(op string, shape []int, vs ...tensor.View) error {
	for _, v := range vs {
		if !slices.Equal(v.Shape, shape) {
			return fmt.Errorf("vulkan: %s: shapes %v and %v differ", op, shape, v.Shape)
		}
	}
	return nil
}

// Copy copies x into out elementwise (both may be strided; either dtype).
func (b *Backend) Copy(out, x tensor.View) error {
	const op = "Copy"
	b.mu.Lock()
	defer b.mu.Unlock()
	ob, olo, ohi, err := b.view(op, "out", out, anyDType)
	if err != nil {
		return err
	}
	xb, xlo, xhi, err := b.view(op, "x", x, ob.dt)
	if err != nil {
		return err
	}
	if err := sameShape(op, out.Shape, x); err != nil {
		return err
	}
	args := []arg{{buf: ob, lo: olo, hi: ohi}, {buf: xb, lo: xlo, hi: xhi}}
	if handled, err := b.copyTransposeFast(args[0], out, args[1], x); handled {
		return err
	}
	if handled, err := b.copyRowsFast(args[0], out, args[1], x); handled {
		return err
	}
	return b.copyStrided(args, out.Shape, [][]int{out.Strides, x.Strides}, []int{out.Offset, x.Offset})
}

// copyStrided runs copy.comp over a strided iteration space (args: out, x).
func (b *Backend) copyStrided(args []arg, shape []int, strides [][]int, offs []int) error {
	k, err := b.kernel("copy", nil)
	if err != nil {
		return err
	}
	return chunks(shape, strides, offs, func(shape []int, st [][]int, offs []int) error {
		n := tensor.Numel(shape)
		g, err := b.grid1(uint64(n), k)
		if err != nil {
			return err
		}
		pc := pcCopy{N: uint32(n), Rank: uint32(len(shape)), OutOff: uint32(offs[0]), XOff: uint32(offs[1]), Shape: arr(shape), OutSt: arr(st[0]), XSt: arr(st[1])}
		return b.dispatch(k, args, pc, g)
	})
}

// Unary computes out = f(x) for a dense out and a strided x.
func (b *Backend) Unary(op tensor.UnaryOp, out, x tensor.View, alpha, beta float32) error {
	name := "Unary " + op.String()
	if op > tensor.OpRecip {
		return fmt.Errorf("vulkan: %s: %w", name, tensor.ErrNotImplemented)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := tensor.Numel(out.Shape)
	oa, err := b.denseArg(name, "out", out, tensor.Float32, n)
	if err != nil {
		return err
	}
	xb, xlo, xhi, err := b.view(name, "x", x, tensor.Float32)
	if err != nil {
		return err
	}
	if err := sameShape(name, out.Shape, x); err != nil {
		return err
	}
	if handled, err := b.unaryFast(op, oa, out, arg{buf: xb, lo: xlo, hi: xhi}, x, alpha, beta); handled {
		return err
	}
	k, err := b.kernel("unary", nil)
	if err != nil {
		return err
	}
	args := []arg{oa, {buf: xb, lo: xlo, hi: xhi}}
	return chunks(out.Shape, [][]int{tensor.ContiguousStrides(out.Shape), x.Strides}, []int{out.Offset, x.Offset}, func(shape []int, st [][]int, offs []int) error {
		cn := tensor.Numel(shape)
		g, err := b.grid1(uint64(cn), k)
		if err != nil {
			return err
		}
		pc := pcUnary{N: uint32(cn), Rank: uint32(len(shape)), OutOff: uint32(offs[0]), XOff: uint32(offs[1]), Op: uint32(op),
			Alpha: alpha, Beta: beta, Shape: arr(shape), XSt: arr(st[1])}
		return b.dispatch(k, args, pc, g)
	})
}

// Binary computes out = f(a, c) for a dense out and strided (broadcast) a, c.
func (b *Backend) Binary(op tensor.BinaryOp, out, x, y tensor.View) error {
	name := "Binary " + op.String()
	if op > tensor.OpGe {
		return fmt.Errorf("vulkan: %s: %w", name, tensor.ErrNotImplemented)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := tensor.Numel(out.Shape)
	oa, err := b.denseArg(name, "out", out, tensor.Float32, n)
	if err != nil {
		return err
	}
	xb, xlo, xhi, err := b.view(name, "a", x, tensor.Float32)
	if err != nil {
		return err
	}
	yb, ylo, yhi, err := b.view(name, "b", y, tensor.Float32)
	if err != nil {
		return err
	}
	if err := sameShape(name, out.Shape, x, y); err != nil {
		return err
	}
	if handled, err := b.binaryFast(op, oa, out, arg{buf: xb, lo: xlo, hi: xhi}, x, arg{buf: yb, lo: ylo, hi: yhi}, y); handled {
		return err
	}
	if handled, err := b.binaryBcastFast(op, oa, out, arg{buf: xb, lo: xlo, hi: xhi}, x, arg{buf: yb, lo: ylo, hi: yhi}, y); handled {
		return err
	}
	k, err := b.kernel("binary", nil)
	if err != nil {
		return err
	}
	args := []arg{oa, {buf: xb, lo: xlo, hi: xhi}, {buf: yb, lo: ylo, hi: yhi}}
	return chunks(out.Shape, [][]int{tensor.ContiguousStrides(out.Shape), x.Strides, y.Strides}, []int{out.Offset, x.Offset, y.Offset}, func(shape []int, st [][]int, offs []int) error {
		cn := tensor.Numel(shape)
		g, err := b.grid1(uint64(cn), k)
		if err != nil {
			return err
		}
		pc := pcBinary{N: uint32(cn), Rank: uint32(len(shape)), OutOff: uint32(offs[0]), AOff: uint32(offs[1]), BOff: uint32(offs[2]), Op: uint32(op),
			Shape: arr(shape), ASt: arr(st[1]), BSt: arr(st[2])}
		return b.dispatch(k, args, pc, g)
	})
}

// Where computes out = cond != 0 ? a : c with strided operands.
func (b *Backend) Where(out, cond, x, y tensor.View) error {
	const name = "Where"
	b.mu.Lock()
	defer b.mu.Unlock()
	n := tensor.Numel(out.Shape)
	oa, err := b.denseArg(name, "out", out, tensor.Float32, n)
	if err != nil {
		return err
	}
	args := []arg{oa}
	for i, v := range []tensor.View{cond, x, y} {
		vb, lo, hi, err := b.view(name, [...]string{"cond", "a", "b"}[i], v, tensor.Float32)
		if err != nil {
			return err
		}
		args = append(args, arg{buf: vb, lo: lo, hi: hi})
	}
	if err := sameShape(name, out.Shape, cond, x, y); err != nil {
		return err
	}
	k, err := b.kernel("where", nil)
	if err != nil {
		return err
	}
	return chunks(out.Shape, [][]int{tensor.ContiguousStrides(out.Shape), cond.Strides, x.Strides, y.Strides},
		[]int{out.Offset, cond.Offset, x.Offset, y.Offset}, func(shape []int, st [][]int, offs []int) error {
			cn := tensor.Numel(shape)
			g, err := b.grid1(uint64(cn), k)
			if err != nil {
				return err
			}
			pc := pcWhere{N: uint32(cn), Rank: uint32(len(shape)), OutOff: uint32(offs[0]), COff: uint32(offs[1]), AOff: uint32(offs[2]), BOff: uint32(offs[3]),
				Shape: arr(shape), CSt: arr(st[1]), ASt: arr(st[2]), BSt: arr(st[3])}
			return b.dispatch(k, args, pc, g)
		})
}
