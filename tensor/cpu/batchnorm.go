package cpu

import (
	"fmt"
	"math"

	"github.com/vkgrad/vkgrad/tensor"
)

func checkBN(op string, p tensor.BatchNormParams) error {
	if p.N <= 0 || p.C <= 0 || p.HW <= 0 {
		return fmt.Errorf("cpu: %s: invalid sizes N=%d C=%d HW=%d", op, p.N, p.C, p.HW)
	}
	return nil
}

// channelStats returns the float64 mean and population variance (two
// passes) of channel c of x [N, C, HW].
func channelStats(xd []float32, p tensor.BatchNormParams, c int) (mean, variance float64) {
	var s float64
	for n := range p.N {
		for _, v := range xd[(n*p.C+c)*p.HW : (n*p.C+c+1)*p.HW] {
			s += float64(v)
		}
	}
	cnt := float64(p.N * p.HW)
	mean = s / cnt
	var q float64
	for n := range p.N {
		for _, v := range xd[(n*p.C+c)*p.HW : (n*p.C+c+1)*p.HW] {
			d := float64(v) - mean
			q += d * d
		}
	}
	return mean, q / cnt
}

// BatchNormForward normalises x [N, C, HW] per channel. Training uses the
// batch mean and biased variance (statistics in float64), writes them as
// mean and invstd = 1/sqrt(var+eps) and updates the running statistics with
// momentum (running variance from the unbiased estimate); eval normalises
// with the running statistics and writes those as mean and invstd.
func (b *Backend) BatchNormForward(out, mean, invstd, x, gamma, beta, runMean, runVar tensor.View, p tensor.BatchNormParams) error {
	const name = "BatchNormForward"
	if err := checkBN(name, p); err != nil {
		return err
	}
	if p.Training && p.N*p.HW < 2 {
		return fmt.Errorf("cpu: %s: training needs more than one value per channel, got N=%d HW=%d", name, p.N, p.HW)
	}
	total := p.N * p.C * p.HW
	xd, err := denseF(name, "x", x, total)
	if err != nil {
		return err
	}
	od, err := denseF(name, "out", out, total)
	if err != nil {
		return err
	}
	per := make([][]float32, 6)
	for i, v := range []tensor.View{mean, invstd, gamma, beta, runMean, runVar} {
		what := [...]string{"mean", "invstd", "gamma", "beta", "runMean", "runVar"}[i]
		if per[i], err = denseF(name, what, v, p.C); err != nil {
			return err
		}
	}
	md, isd, gd, bd, rmd, rvd := per[0], per[1], per[2], per[3], per[4], per[5]
	cnt := float64(p.N * p.HW)
	mom := float64(p.Momentum)
	b.parallelFor(p.C, max(1, grainElems/(p.N*p.HW)), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var mu, is float64
			if p.Training {
				m, v := channelStats(xd, p, c)
				mu, is = m, 1/math.Sqrt(v+float64(p.Eps))
				rmd[c] = float32((1-mom)*float64(rmd[c]) + mom*m)
				rvd[c] = float32((1-mom)*float64(rvd[c]) + mom*v*cnt/(cnt-1))
			} else {
				mu, is = float64(rmd[c]), 1/math.Sqrt(float64(rvd[c])+float64(p.Eps))
			}
			md[c], isd[c] = float32(mu), float32(is)
			scale := float64(gd[c]) * is
			shift := float64(bd[c]) - mu*scale
			for n := range p.N {
				src := xd[(n*p.C+c)*p.HW : (n*p.C+c+1)*p.HW]
				dst := od[(n*p.C+c)*p.HW : (n*p.C+c+1)*p.HW]
				for i, v := range src {
					dst[i] = float32(float64(v)*scale + shift)
				}
			}
		}
	})
	return nil
}

// BatchNormBackward writes dx, dgamma and dbeta for a training-mode forward
// pass that used mean and invstd:
//
//	dbeta = Σ dy, dgamma = Σ dy·x̂,
//	dx = gamma·invstd/m · (m·dy − dbeta − x̂·dgamma), x̂ = (x−mean)·invstd.
func (b *Backend) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, invstd tensor.View, p tensor.BatchNormParams) error {
	const name = "BatchNormBackward"
	if err := checkBN(name, p); err != nil {
		return err
	}
	total := p.N * p.C * p.HW
	var err error
	big := make([][]float32, 3)
	for i, v := range []tensor.View{dx, dy, x} {
		if big[i], err = denseF(name, [...]string{"dx", "dy", "x"}[i], v, total); err != nil {
			return err
		}
	}
	per := make([][]float32, 5)
	for i, v := range []tensor.View{dgamma, dbeta, gamma, mean, invstd} {
		if per[i], err = denseF(name, [...]string{"dgamma", "dbeta", "gamma", "mean", "invstd"}[i], v, p.C); err != nil {
			return err
		}
	}
	dxd, dyd, xd := big[0], big[1], big[2]
	dgd, dbd, gd, md, isd := per[0], per[1], per[2], per[3], per[4]
	cnt := float64(p.N * p.HW)
	b.parallelFor(p.C, max(1, grainElems/(p.N*p.HW)), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			mu, is := float64(md[c]), float64(isd[c])
			var sdy, sdyx float64
			for n := range p.N {
				off := (n*p.C + c) * p.HW
				for i, g := range dyd[off : off+p.HW] {
					sdy += float64(g)
					sdyx += float64(g) * (float64(xd[off+i]) - mu) * is
				}
			}
			dbd[c], dgd[c] = float32(sdy), float32(sdyx)
			k := float64(gd[c]) * is / cnt
			for n := range p.N {
				off := (n*p.C + c) * p.HW
				for i, g := range dyd[off : off+p.HW] {
					xh := (float64(xd[off+i]) - mu) * is
					dxd[off+i] = float32(k * (cnt*float64(g) - sdy - xh*sdyx))
				}
			}
		}
	})
	return nil
}
