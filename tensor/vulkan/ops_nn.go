//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"math"

	"github.com/vkgrad/vkgrad/tensor"
)

type pcConv struct {
	N, Cin, H, W, Cout, KH, KW, SH, SW, PH, PW, OH, OW uint32
	Off0, Off1, Off2, OutOff, Flag, GX0                uint32
}

type pcPool struct {
	N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW uint32
	InOff, OutOff, IdxOff, Pad                 uint32
}

type pcBNStats struct {
	N, C, HW, Training, XOff, MeanOff, IstdOff, RMOff, RVOff uint32
	Eps, Momentum                                            float32
	Pad                                                      uint32
}

type pcBNApply struct {
	Total, C, HW, XOff, OutOff, MeanOff, IstdOff, GOff, BOff, Pad0, Pad1, Pad2 uint32
}

type pcBNBwdStats struct {
	N, C, HW, Pad0, DYOff, XOff, MeanOff, IstdOff, DGOff, DBOff, Pad1, Pad2 uint32
}

type pcBNBwdApply struct {
	Total, C, HW, Pad0, DXOff, DYOff, XOff, GOff, MeanOff, IstdOff, DGOff, DBOff uint32
}

type pcIndex struct {
	Outer, N, Inner, K, XOff, IdxOff, OutOff, Tag uint32
	J0, J1                                        uint32
}

type pcAdam struct {
	N, POff, GOff, MOff, VOff             uint32
	Step, BC2, Beta1, Beta2, Eps, WD, Pad float32
}

type pcSGD struct {
	N, POff, GOff, MOff uint32
	LR, Momentum, WD    float32
	Nesterov            uint32
}

func checkConv(op string, p tensor.Conv2DParams) error {
	if p.N <= 0 || p.Cin <= 0 || p.H <= 0 || p.W <= 0 || p.Cout <= 0 || p.KH <= 0 || p.KW <= 0 ||
		p.StrideH <= 0 || p.StrideW <= 0 || p.PadH < 0 || p.PadW < 0 {
		return fmt.Errorf("vulkan: %s: invalid parameters %+v", op, p)
	}
	oh, ow := tensor.ConvOutSize(p.H, p.KH, p.StrideH, p.PadH), tensor.ConvOutSize(p.W, p.KW, p.StrideW, p.PadW)
	if p.OH != oh || p.OW != ow || oh <= 0 || ow <= 0 {
		return fmt.Errorf("vulkan: %s: output %dx%d does not match input %dx%d with kernel %dx%d, stride %d,%d, padding %d,%d",
			op, p.OH, p.OW, p.H, p.W, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW)
	}
	return nil
}

func convPush(p tensor.Conv2DParams) pcConv {
	return pcConv{N: uint32(p.N), Cin: uint32(p.Cin), H: uint32(p.H), W: uint32(p.W), Cout: uint32(p.Cout),
		KH: uint32(p.KH), KW: uint32(p.KW), SH: uint32(p.StrideH), SW: uint32(p.StrideW), PH: uint32(p.PadH), PW: uint32(p.PadW),
		OH: uint32(p.OH), OW: uint32(p.OW)}
}

// gemmGrid launches a register-blocked GEMM-shaped kernel over rows x cols
// (and gz in z), splitting x under the device limit through GX0.
func (b *Backend) gemmGrid(k *kernel, args []arg, rows, cols, gz int, pc pcConv) error {
	tileN := uint64(k.local[0]) * uint64(k.spec[3])
	tileM := uint64(k.local[1]) * uint64(k.spec[2])
	gy := ceilDiv(uint64(rows), tileM)
	if gy > uint64(b.info.Limits.MaxComputeWorkGroupCount[1]) || uint64(gz) > uint64(b.info.Limits.MaxComputeWorkGroupCount[2]) {
		return fmt.Errorf("vulkan: %s: grid %dx%d exceeds maxComputeWorkGroupCount %v on %s", k.name, gy, gz, b.info.Limits.MaxComputeWorkGroupCount, b.desc)
	}
	return b.dispatch3(k, args, ceilDiv(uint64(cols), tileN), gy, uint64(gz), func(x0, _, _ uint32) any {
		q := pc
		q.GX0 = x0
		return q
	})
}

// Conv2D computes out = conv(x, w) + bias (bias.Buf may be nil).
func (b *Backend) Conv2D(out, x, w, bias tensor.View, p tensor.Conv2DParams) error {
	const name = "Conv2D"
	if err := checkConv(name, p); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	args, err := b.denseArgs(name, denseSpec{"out", out, tensor.Float32, p.N * p.Cout * p.OH * p.OW}, denseSpec{"x", x, tensor.Float32, p.N * p.Cin * p.H * p.W}, denseSpec{"w", w, tensor.Float32, p.Cout * p.Cin * p.KH * p.KW})
	if err != nil {
		return err
	}
	oa, xa, wa := args[0], args[1], args[2]
	pc := convPush(p)
	pc.Off0, pc.Off1, pc.OutOff = uint32(x.Offset), uint32(w.Offset), uint32(out.Offset)
	ba := wa // bound but unread when there is no bias
	if bias.Buf != nil {
		if ba, err = b.denseArg(name, "bias", bias, tensor.Float32, p.Cout); err != nil {
			return err
		}
		pc.Off2, pc.Flag = uint32(bias.Offset), 1
	}
	if handled, err := b.convBcast(convForward, []arg{oa, xa, wa, ba}, p, pc); handled {
		return err
	}
	if err := b.checkTrips(name, uint64(p.KH+p.KH*p.KW+p.KH*p.KW*p.Cin)); err != nil {
		return err
	}
	k, err := b.kernel("conv2d", b.convConfig("conv2d", p))
	if err != nil {
		return err
	}
	return b.gemmGrid(k, []arg{oa, xa, wa, ba}, p.Cout, p.N*p.OH*p.OW, 1, pc)
}

// Conv2DBackwardData writes dx from dy and w.
func (b *Backend) Conv2DBackwardData(dx, dy, w tensor.View, p tensor.Conv2DParams) error {
	const name = "Conv2DBackwardData"
	if err := checkConv(name, p); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	args, err := b.denseArgs(name, denseSpec{"dx", dx, tensor.Float32, p.N * p.Cin * p.H * p.W}, denseSpec{"dy", dy, tensor.Float32, p.N * p.Cout * p.OH * p.OW}, denseSpec{"w", w, tensor.Float32, p.Cout * p.Cin * p.KH * p.KW})
	if err != nil {
		return err
	}
	dxa, dya, wa := args[0], args[1], args[2]
	pc := convPush(p)
	pc.Off0, pc.Off1, pc.OutOff = uint32(dy.Offset), uint32(w.Offset), uint32(dx.Offset)
	if handled, err := b.convBcast(convBackData, []arg{dxa, dya, wa}, p, pc); handled {
		return err
	}
	if err := b.checkTrips(name, uint64(p.KH+p.KH*p.KW+p.KH*p.KW*p.Cout)); err != nil {
		return err
	}
	k, err := b.kernel("conv2d_bwd_data", b.convConfig("conv2d_bwd_data", p))
	if err != nil {
		return err
	}
	return b.gemmGrid(k, []arg{dxa, dya, wa}, p.Cin, p.N*p.H*p.W, 1, pc)
}

// Conv2DBackwardWeight writes dw from x and dy. K = N*OH*OW is split over
// workgroups in z when the output alone is too small to fill the device;
// the partial sums are then added in a fixed order (deterministic).
func (b *Backend) Conv2DBackwardWeight(dw, x, dy tensor.View, p tensor.Conv2DParams) error {
	const name = "Conv2DBackwardWeight"
	if err := checkConv(name, p); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	nw := p.Cout * p.Cin * p.KH * p.KW
	args, err := b.denseArgs(name, denseSpec{"dw", dw, tensor.Float32, nw}, denseSpec{"x", x, tensor.Float32, p.N * p.Cin * p.H * p.W}, denseSpec{"dy", dy, tensor.Float32, p.N * p.Cout * p.OH * p.OW})
	if err != nil {
		return err
	}
	dwa, xa, dya := args[0], args[1], args[2]
	bpc := convPush(p)
	bpc.Off0, bpc.Off1, bpc.OutOff = uint32(x.Offset), uint32(dy.Offset), uint32(dw.Offset)
	if handled, err := b.convBcast(convBackWeight, []arg{dwa, xa, dya}, p, bpc); handled {
		return err
	}
	k, err := b.kernel("conv2d_bwd_weight", b.convConfig("conv2d_bwd_weight", p))
	if err != nil {
		return err
	}
	ncol := p.Cin * p.KH * p.KW
	ktot := p.N * p.OH * p.OW
	tiles := ceilDiv(uint64(ncol), uint64(k.local[0]*k.spec[3])) * ceilDiv(uint64(p.Cout), uint64(k.local[1]*k.spec[2]))
	splits := splitK(tiles, uint64(ktot), uint64(nw)*4, uint64(b.info.Limits.MaxStorageBufferRange), uint64(b.info.Limits.MaxComputeWorkGroupCount[2]))
	// Slices must also respect the driver's loop limit.
	splits = max(splits, int(ceilDiv(uint64(ktot), b.loopBudget())))
	if uint64(splits*nw)*4 > uint64(b.info.Limits.MaxStorageBufferRange) {
		return fmt.Errorf("vulkan: %s: %d slices of K=%d need %d bytes of partial sums, more than maxStorageBufferRange on %s", name, splits, ktot, splits*nw*4, b.desc)
	}
	pc := convPush(p)
	pc.Off0, pc.Off1 = uint32(x.Offset), uint32(dy.Offset)
	pc.Flag = uint32(ceilDiv(uint64(ktot), uint64(splits)))
	if splits == 1 {
		pc.OutOff = uint32(dw.Offset)
		return b.gemmGrid(k, []arg{dwa, xa, dya}, p.Cout, ncol, 1, pc)
	}
	b.use(dwa.buf, xa.buf, dya.buf) // see MatMul: in use before the scratch allocation
	scratch, err := b.allocInternal(uint64(splits*nw)*4, kindDevice)
	if err != nil {
		return fmt.Errorf("vulkan: %s: split-K scratch: %w", name, err)
	}
	defer scratch.Release()
	if err := b.gemmGrid(k, []arg{bufArg(scratch), xa, dya}, p.Cout, ncol, splits, pc); err != nil {
		return err
	}
	return b.reduce(tensor.ReduceSum, dwa, dw.Offset, bufArg(scratch), 0, 1, splits, nw, true)
}

// splitK chooses how many slices of K a GEMM with the given number of
// output tiles gets: enough workgroups to fill a device (64), slices of at
// least 256 steps, and partial sums within 64 MiB and the binding range.
func splitK(tiles, k, outBytes, maxRange, maxZ uint64) int {
	const target, minSteps = 64, 256
	s := uint64(1)
	if tiles < target {
		s = ceilDiv(target, tiles)
	}
	s = min(s, max(1, k/minSteps), maxZ)
	for s > 1 && (s*outBytes > 64<<20 || s*outBytes > maxRange) {
		s--
	}
	return int(s)
}

func checkPool(op string, p tensor.Pool2DParams) error {
	if p.N <= 0 || p.C <= 0 || p.H <= 0 || p.W <= 0 || p.KH <= 0 || p.KW <= 0 || p.StrideH <= 0 || p.StrideW <= 0 ||
		p.PadH < 0 || p.PadW < 0 || 2*p.PadH > p.KH || 2*p.PadW > p.KW {
		return fmt.Errorf("vulkan: %s: invalid parameters %+v", op, p)
	}
	oh, ow := tensor.ConvOutSize(p.H, p.KH, p.StrideH, p.PadH), tensor.ConvOutSize(p.W, p.KW, p.StrideW, p.PadW)
	if p.OH != oh || p.OW != ow || oh <= 0 || ow <= 0 {
		return fmt.Errorf("vulkan: %s: output %dx%d does not match input %dx%d with window %dx%d", op, p.OH, p.OW, p.H, p.W, p.KH, p.KW)
	}
	return nil
}

func poolPush(p tensor.Pool2DParams) pcPool {
	return pcPool{N: uint32(p.N), C: uint32(p.C), H: uint32(p.H), W: uint32(p.W), KH: uint32(p.KH), KW: uint32(p.KW),
		SH: uint32(p.StrideH), SW: uint32(p.StrideW), PH: uint32(p.PadH), PW: uint32(p.PadW), OH: uint32(p.OH), OW: uint32(p.OW)}
}

// pool records one pooling kernel over n invocations.
func (b *Backend) pool(kname string, args []arg, pc pcPool, n int) error {
	k, err := b.kernel(kname, nil)
	if err != nil {
		return err
	}
	g, err := b.grid1(uint64(n), k)
	if err != nil {
		return err
	}
	return b.dispatch(k, args, pc, g)
}

// MaxPool2D writes the window maxima and their flat indices.
func (b *Backend) MaxPool2D(out, idx, x tensor.View, p tensor.Pool2DParams) error {
	const name = "MaxPool2D"
	if err := checkPool(name, p); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	no := p.N * p.C * p.OH * p.OW
	args, err := b.denseArgs(name, denseSpec{"out", out, tensor.Float32, no}, denseSpec{"idx", idx, tensor.Int32, no}, denseSpec{"x", x, tensor.Float32, p.N * p.C * p.H * p.W})
	if err != nil {
		return err
	}
	oa, ia, xa := args[0], args[1], args[2]
	pc := poolPush(p)
	pc.InOff, pc.OutOff, pc.IdxOff = uint32(x.Offset), uint32(out.Offset), uint32(idx.Offset)
	return b.pool("maxpool", []arg{oa, ia, xa}, pc, no)
}

// MaxPool2DBackward writes dx (overwritten) from dy and the argmax indices.
func (b *Backend) MaxPool2DBackward(dx, dy, idx tensor.View, p tensor.Pool2DParams) error {
	const name = "MaxPool2DBackward"
	if err := checkPool(name, p); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	no, ni := p.N*p.C*p.OH*p.OW, p.N*p.C*p.H*p.W
	args, err := b.denseArgs(name, denseSpec{"dx", dx, tensor.Float32, ni}, denseSpec{"dy", dy, tensor.Float32, no}, denseSpec{"idx", idx, tensor.Int32, no})
	if err != nil {
		return err
	}
	dxa, dya, ia := args[0], args[1], args[2]
	pc := poolPush(p)
	pc.InOff, pc.OutOff, pc.IdxOff = uint32(dy.Offset), uint32(dx.Offset), uint32(idx.Offset)
	return b.pool("maxpool_bwd", []arg{dxa, dya, ia}, pc, ni)
}

// AvgPool2D averages each window (padding counted).
func (b *Backend) AvgPool2D(out, x tensor.View, p tensor.Pool2DParams) error {
	const name = "AvgPool2D"
	if err := checkPool(name, p); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	no := p.N * p.C * p.OH * p.OW
	args, err := b.denseArgs(name, denseSpec{"out", out, tensor.Float32, no}, denseSpec{"x", x, tensor.Float32, p.N * p.C * p.H * p.W})
	if err != nil {
		return err
	}
	oa, xa := args[0], args[1]
	pc := poolPush(p)
	pc.InOff, pc.OutOff = uint32(x.Offset), uint32(out.Offset)
	return b.pool("avgpool", []arg{oa, xa}, pc, no)
}

// AvgPool2DBackward spreads dy evenly over each window into dx (overwritten).
func (b *Backend) AvgPool2DBackward(dx, dy tensor.View, p tensor.Pool2DParams) error {
	const name = "AvgPool2DBackward"
	if err := checkPool(name, p); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	no, ni := p.N*p.C*p.OH*p.OW, p.N*p.C*p.H*p.W
	args, err := b.denseArgs(name, denseSpec{"dx", dx, tensor.Float32, ni}, denseSpec{"dy", dy, tensor.Float32, no})
	if err != nil {
		return err
	}
	dxa, dya := args[0], args[1]
	pc := poolPush(p)
	pc.InOff, pc.OutOff = uint32(dy.Offset), uint32(dx.Offset)
	return b.pool("avgpool_bwd", []arg{dxa, dya}, pc, ni)
}

func checkBN(op string, p tensor.BatchNormParams) error {
	if p.N <= 0 || p.C <= 0 || p.HW <= 0 {
		return fmt.Errorf("vulkan: %s: invalid sizes N=%d C=%d HW=%d", op, p.N, p.C, p.HW)
	}
	return nil
}

// BatchNormForward normalises x [N, C, HW]; see tensor.Backend.
func (b *Backend) BatchNormForward(out, mean, invstd, x, gamma, beta, runMean, runVar tensor.View, p tensor.BatchNormParams) error {
	const name = "BatchNormForward"
	if err := checkBN(name, p); err != nil {
		return err
	}
	if p.Training && p.N*p.HW < 2 {
		return fmt.Errorf("vulkan: %s: training needs more than one value per channel, got N=%d HW=%d", name, p.N, p.HW)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	total := p.N * p.C * p.HW
	args, err := b.denseArgs(name, denseSpec{"out", out, tensor.Float32, total}, denseSpec{"x", x, tensor.Float32, total})
	if err != nil {
		return err
	}
	oa, xa := args[0], args[1]
	per := make([]arg, 6)
	views := []tensor.View{mean, invstd, gamma, beta, runMean, runVar}
	for i, v := range views {
		if per[i], err = b.denseArg(name, [...]string{"mean", "invstd", "gamma", "beta", "runMean", "runVar"}[i], v, tensor.Float32, p.C); err != nil {
			return err
		}
	}
	if handled, err := b.bnForwardFast(oa, xa, out, x, per, views, p); handled {
		return err
	}
	cnt := uint64(p.N * p.HW)
	wg := b.wgFor(128, cnt, 2)
	if err := b.checkTrips(name, 2*(ceilDiv(cnt, uint64(wg))+treeTrips(wg))); err != nil {
		return err
	}
	ks, err := b.kernel("bn_stats", map[int]uint32{0: wg})
	if err != nil {
		return err
	}
	ka, err := b.kernel("bn_apply", nil)
	if err != nil {
		return err
	}
	st := pcBNStats{N: uint32(p.N), C: uint32(p.C), HW: uint32(p.HW), XOff: uint32(x.Offset), MeanOff: uint32(mean.Offset),
		IstdOff: uint32(invstd.Offset), RMOff: uint32(runMean.Offset), RVOff: uint32(runVar.Offset), Eps: p.Eps, Momentum: p.Momentum}
	if p.Training {
		st.Training = 1
	}
	g, err := b.grid(uint64(p.C))
	if err != nil {
		return err
	}
	if err := b.dispatch(ks, []arg{xa, per[0], per[1], per[4], per[5]}, st, g); err != nil {
		return err
	}
	ap := pcBNApply{Total: uint32(total), C: uint32(p.C), HW: uint32(p.HW), XOff: uint32(x.Offset), OutOff: uint32(out.Offset),
		MeanOff: uint32(mean.Offset), IstdOff: uint32(invstd.Offset), GOff: uint32(gamma.Offset), BOff: uint32(beta.Offset)}
	if g, err = b.grid1(uint64(total), ka); err != nil {
		return err
	}
	return b.dispatch(ka, []arg{oa, xa, per[0], per[1], per[2], per[3]}, ap, g)
}

// BatchNormBackward writes dx, dgamma and dbeta for training statistics.
func (b *Backend) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, invstd tensor.View, p tensor.BatchNormParams) error {
	const name = "BatchNormBackward"
	if err := checkBN(name, p); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	total := p.N * p.C * p.HW
	big := make([]arg, 3)
	var err error
	for i, v := range []tensor.View{dx, dy, x} {
		if big[i], err = b.denseArg(name, [...]string{"dx", "dy", "x"}[i], v, tensor.Float32, total); err != nil {
			return err
		}
	}
	per := make([]arg, 5)
	for i, v := range []tensor.View{dgamma, dbeta, gamma, mean, invstd} {
		if per[i], err = b.denseArg(name, [...]string{"dgamma", "dbeta", "gamma", "mean", "invstd"}[i], v, tensor.Float32, p.C); err != nil {
			return err
		}
	}
	if handled, err := b.bnBackwardFast(big, []tensor.View{dx, dy, x}, per, []tensor.View{dgamma, dbeta, gamma, mean, invstd}, p); handled {
		return err
	}
	cnt := uint64(p.N * p.HW)
	wg := b.wgFor(128, cnt, 1)
	if err := b.checkTrips(name, ceilDiv(cnt, uint64(wg))+treeTrips(wg)); err != nil {
		return err
	}
	ks, err := b.kernel("bn_bwd_stats", map[int]uint32{0: wg})
	if err != nil {
		return err
	}
	ka, err := b.kernel("bn_bwd_apply", nil)
	if err != nil {
		return err
	}
	g, err := b.grid(uint64(p.C))
	if err != nil {
		return err
	}
	sp := pcBNBwdStats{N: uint32(p.N), C: uint32(p.C), HW: uint32(p.HW), DYOff: uint32(dy.Offset), XOff: uint32(x.Offset),
		MeanOff: uint32(mean.Offset), IstdOff: uint32(invstd.Offset), DGOff: uint32(dgamma.Offset), DBOff: uint32(dbeta.Offset)}
	if err := b.dispatch(ks, []arg{per[0], per[1], big[1], big[2], per[3], per[4]}, sp, g); err != nil {
		return err
	}
	ap := pcBNBwdApply{Total: uint32(total), C: uint32(p.C), HW: uint32(p.HW), DXOff: uint32(dx.Offset), DYOff: uint32(dy.Offset),
		XOff: uint32(x.Offset), GOff: uint32(gamma.Offset), MeanOff: uint32(mean.Offset), IstdOff: uint32(invstd.Offset),
		DGOff: uint32(dgamma.Offset), DBOff: uint32(dbeta.Offset)}
	if g, err = b.grid1(uint64(total), ka); err != nil {
		return err
	}
	return b.dispatch(ka, []arg{big[0], big[1], big[2], per[2], per[3], per[4], per[0], per[1]}, ap, g)
}

// indexArgs validates the operands of IndexSelect and IndexAdd.
func (b *Backend) indexArgs(name string, out, x, idx tensor.View, outer, n, inner int, outRows, xRows int, dt tensor.DType) (oa, xa, ia arg, k int, err error) {
	if outer <= 0 || n <= 0 || inner <= 0 || len(idx.Shape) != 1 {
		return oa, xa, ia, 0, fmt.Errorf("vulkan: %s: invalid sizes outer=%d n=%d inner=%d, index shape %v", name, outer, n, inner, idx.Shape)
	}
	k = idx.Shape[0]
	if outRows < 0 {
		outRows = k
	}
	if xRows < 0 {
		xRows = k
	}
	if ia, err = b.denseArg(name, "idx", idx, tensor.Int32, k); err != nil {
		return
	}
	if oa, err = b.denseArg(name, "out", out, dt, outer*outRows*inner); err != nil {
		return
	}
	if dt == anyDType {
		dt = oa.buf.dt
	}
	xa, err = b.denseArg(name, "x", x, dt, outer*xRows*inner)
	return
}

// IndexSelect gathers rows of x [outer, n, inner] (either dtype) by idx.
// An out-of-range index is reported by the next Sync (or host read).
func (b *Backend) IndexSelect(out, x, idx tensor.View, outer, n, inner int) error {
	const name = "IndexSelect"
	b.mu.Lock()
	defer b.mu.Unlock()
	oa, xa, ia, k, err := b.indexArgs(name, out, x, idx, outer, n, inner, -1, n, anyDType)
	if err != nil {
		return err
	}
	kern, err := b.kernel("index_select", nil)
	if err != nil {
		return err
	}
	g, err := b.grid1(uint64(outer*k*inner), kern)
	if err != nil {
		return err
	}
	tag := b.errorTag(fmt.Sprintf("IndexSelect of %d indices into an axis of %d", k, n))
	pc := pcIndex{Outer: uint32(outer), N: uint32(n), Inner: uint32(inner), K: uint32(k), XOff: uint32(x.Offset),
		IdxOff: uint32(idx.Offset), OutOff: uint32(out.Offset), Tag: tag}
	return b.dispatch(kern, []arg{oa, xa, ia, {buf: b.errBuf, untracked: true}}, pc, g)
}

// IndexAdd accumulates src [outer, k, inner] into out [outer, n, inner] at
// rows idx. Each invocation owns one (outer, inner) column and adds in
// index order: deterministic, no atomics.
func (b *Backend) IndexAdd(out, src, idx tensor.View, outer, n, inner int) error {
	const name = "IndexAdd"
	b.mu.Lock()
	defer b.mu.Unlock()
	oa, sa, ia, k, err := b.indexArgs(name, out, src, idx, outer, n, inner, n, -1, tensor.Float32)
	if err != nil {
		return err
	}
	kern, err := b.kernel("index_add", nil)
	if err != nil {
		return err
	}
	g, err := b.grid1(uint64(outer*inner), kern)
	if err != nil {
		return err
	}
	tag := b.errorTag(fmt.Sprintf("IndexAdd of %d indices into an axis of %d", k, n))
	pc := pcIndex{Outer: uint32(outer), N: uint32(n), Inner: uint32(inner), K: uint32(k), XOff: uint32(src.Offset),
		IdxOff: uint32(idx.Offset), OutOff: uint32(out.Offset), Tag: tag}
	// Launches over slices of idx keep each invocation's loop within the
	// driver's limit; they accumulate in order, so the sum stays
	// deterministic.
	step := int(min(b.loopBudget(), uint64(k)))
	for j0 := 0; j0 < k; j0 += step {
		pc.J0, pc.J1 = uint32(j0), uint32(min(k, j0+step))
		if err := b.dispatch(kern, []arg{oa, sa, ia, {buf: b.errBuf, untracked: true}}, pc, g); err != nil {
			return err
		}
	}
	return nil
}

// optimArgs validates equally long dense float32 operands.
func (b *Backend) optimArgs(name string, names []string, vs ...tensor.View) ([]arg, int, error) {
	n := vs[0].Numel()
	out := make([]arg, len(vs))
	for i, v := range vs {
		a, err := b.denseArg(name, names[i], v, tensor.Float32, n)
		if err != nil {
			return nil, 0, err
		}
		out[i] = a
	}
	return out, n, nil
}

// AdamUpdate applies one PyTorch Adam step in place.
func (b *Backend) AdamUpdate(param, grad, m, v tensor.View, p tensor.AdamParams) error {
	const name = "AdamUpdate"
	if p.Step < 1 {
		return fmt.Errorf("vulkan: %s: step must be >= 1, got %d", name, p.Step)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	args, n, err := b.optimArgs(name, []string{"param", "grad", "m", "v"}, param, grad, m, v)
	if err != nil {
		return err
	}
	b1, b2 := float64(p.Beta1), float64(p.Beta2)
	pc := pcAdam{N: uint32(n), POff: uint32(param.Offset), GOff: uint32(grad.Offset), MOff: uint32(m.Offset), VOff: uint32(v.Offset),
		Step: float32(float64(p.LR) / (1 - math.Pow(b1, float64(p.Step)))), BC2: float32(math.Sqrt(1 - math.Pow(b2, float64(p.Step)))),
		Beta1: p.Beta1, Beta2: p.Beta2, Eps: p.Eps, WD: p.WeightDecay}
	if handled, err := b.adamFast(args, n, pc); handled {
		return err
	}
	k, err := b.kernel("adam", nil)
	if err != nil {
		return err
	}
	g, err := b.grid1(uint64(n), k)
	if err != nil {
		return err
	}
	return b.dispatch(k, args, pc, g)
}

// SGDUpdate applies one PyTorch SGD (momentum, Nesterov, weight decay) step
// in place.
func (b *Backend) SGDUpdate(param, grad, mom tensor.View, p tensor.SGDParams) error {
	const name = "SGDUpdate"
	b.mu.Lock()
	defer b.mu.Unlock()
	args, n, err := b.optimArgs(name, []string{"param", "grad", "mom"}, param, grad, mom)
	if err != nil {
		return err
	}
	k, err := b.kernel("sgd", nil)
	if err != nil {
		return err
	}
	g, err := b.grid1(uint64(n), k)
	if err != nil {
		return err
	}
	pc := pcSGD{N: uint32(n), POff: uint32(param.Offset), GOff: uint32(grad.Offset), MOff: uint32(mom.Offset), LR: p.LR, Momentum: p.Momentum, WD: p.WeightDecay}
	if p.Nesterov {
		pc.Nesterov = 1
	}
	return b.dispatch(k, args, pc, g)
}
