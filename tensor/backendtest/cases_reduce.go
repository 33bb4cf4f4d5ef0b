package backendtest

import (
	"github.com/vkgrad/vkgrad/tensor"
)

type reduceFn func(t *tensor.Tensor, keepdim bool, axes ...int) *tensor.Tensor

func reduceCases() []Case {
	defs := []struct {
		name string
		f    reduceFn
		in   func(e *Env, shape ...int) *tensor.Tensor
		tol  float64
	}{
		{"Sum", tensor.Sum, randn, 1e-6},
		{"Mean", tensor.Mean, randn, 1e-6},
		{"Max", tensor.Max, randn, 0},
		{"MaxTies", tensor.Max, steps, 0},
		{"Variance", tensor.Variance, randn, 1e-6},
	}
	type red struct {
		shape   []int
		keepdim bool
		axes    []int
	}
	reds := []red{
		{[]int{1}, false, nil}, {[]int{7}, false, nil}, {[]int{13, 33}, false, []int{0}},
		{[]int{13, 33}, true, []int{1}}, {[]int{13, 33}, false, nil}, {[]int{3, 5, 7}, false, []int{1}},
		{[]int{3, 5, 7}, true, []int{0, 2}}, {[]int{2, 3, 4, 5}, false, []int{1, 3}},
		{[]int{2, 3, 4, 5}, true, []int{-1}}, {[]int{257, 131}, false, []int{0}},
		{[]int{3, 70001}, false, []int{1}}, {[]int{70001, 3}, false, []int{0}},
		{[]int{1, 1031, 1}, true, []int{1}}, {[]int{5, 1}, false, []int{1}},
	}
	var cs []Case
	for _, d := range defs {
		cs = append(cs, Case{Name: "Reduce/" + d.name + "/shapes", Op: "Reduce", Tol: d.tol,
			Run: func(e *Env) []*tensor.Tensor {
				var outs []*tensor.Tensor
				for _, r := range reds {
					outs = append(outs, d.f(d.in(e, r.shape...), r.keepdim, r.axes...))
				}
				return outs
			}})
		cs = append(cs, Case{Name: "Reduce/" + d.name + "/views", Op: "Reduce", Tol: d.tol, Pairs: true,
			Run: func(e *Env) []*tensor.Tensor {
				var outs []*tensor.Tensor
				for i, v := range viewsOf(e, d.in) {
					axis := i % v.Rank()
					outs = append(outs, d.f(v, false, axis), d.f(tensor.Contiguous(v), false, axis))
				}
				return outs
			}})
	}
	cs = append(cs,
		Case{Name: "Reduce/Argmax/shapes", Op: "Reduce", Run: func(e *Env) []*tensor.Tensor {
			return []*tensor.Tensor{
				tensor.Argmax(e.Randn(1), 0, false), tensor.Argmax(e.Randn(13, 33), 0, false),
				tensor.Argmax(e.Randn(13, 33), 1, true), tensor.Argmax(e.Randn(3, 5, 7), 1, false),
				tensor.Argmax(e.Randn(3, 70001), 1, false), tensor.Argmax(e.Randn(70001, 2), 0, false),
			}
		}},
		Case{Name: "Reduce/Argmax/ties", Op: "Reduce", Run: func(e *Env) []*tensor.Tensor {
			return []*tensor.Tensor{tensor.Argmax(e.Steps(13, 33), 1, false), tensor.Argmax(e.Steps(13, 33), 0, false),
				tensor.Argmax(e.Steps(2, 9001), 1, false)}
		}},
		Case{Name: "Reduce/GlobalAvgPool", Op: "Reduce", Run: func(e *Env) []*tensor.Tensor {
			return []*tensor.Tensor{tensor.GlobalAvgPool(e.Randn(2, 3, 7, 13)), tensor.GlobalAvgPool(e.Randn(1, 1, 1, 1))}
		}},
	)
	return cs
}
