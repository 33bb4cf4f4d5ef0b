package backendtest

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

type convDef struct {
	n, cin, h, w, cout, k, stride, pad int
	bias                               bool
}

func (c convDef) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_o%d_k%d_s%d_p%d_bias%v", c.n, c.cin, c.h, c.w, c.cout, c.k, c.stride, c.pad, c.bias)
}

var convDefs = []convDef{
	{1, 1, 1, 1, 1, 1, 1, 0, false},
	{2, 3, 7, 5, 4, 3, 1, 1, true},
	{3, 2, 13, 11, 5, 3, 2, 1, true},
	{1, 4, 9, 9, 3, 5, 2, 2, false},
	{5, 3, 6, 6, 7, 1, 1, 0, true},
	{2, 16, 8, 8, 33, 3, 1, 1, true},
	{1, 2, 4, 4, 3, 4, 1, 0, false}, // kernel covers the input
}

func convCases() []Case {
	var cs []Case
	for _, c := range convDefs {
		xs, ws := []int{c.n, c.cin, c.h, c.w}, []int{c.cout, c.cin, c.k, c.k}
		oh, ow := tensor.ConvOutSize(c.h, c.k, c.stride, c.pad), tensor.ConvOutSize(c.w, c.k, c.stride, c.pad)
		ys := []int{c.n, c.cout, oh, ow}
		cs = append(cs,
			Case{Name: "Conv2D/" + c.String(), Op: "Conv2D", Tol: 1e-6, Run: func(e *Env) []*tensor.Tensor {
				var bias *tensor.Tensor
				if c.bias {
					bias = e.Randn(c.cout)
				}
				return []*tensor.Tensor{tensor.Conv2D(e.Randn(xs...), e.Randn(ws...), bias, c.stride, c.pad)}
			}},
			Case{Name: "Conv2DBackwardData/" + c.String(), Op: "Conv2DBackwardData", Tol: 1e-6, Run: func(e *Env) []*tensor.Tensor {
				return []*tensor.Tensor{tensor.Conv2DBackwardData(e.Randn(ys...), e.Randn(ws...), xs, c.stride, c.pad)}
			}},
			Case{Name: "Conv2DBackwardWeight/" + c.String(), Op: "Conv2DBackwardWeight", Tol: 1e-6, Run: func(e *Env) []*tensor.Tensor {
				return []*tensor.Tensor{tensor.Conv2DBackwardWeight(e.Randn(xs...), e.Randn(ys...), ws, c.stride, c.pad)}
			}},
		)
	}
	cs = append(cs, Case{Name: "Conv2D/strided-input", Op: "Conv2D", Tol: 1e-6, Pairs: true, Run: func(e *Env) []*tensor.Tensor {
		x := tensor.Permute(e.Randn(2, 7, 9, 3), 0, 3, 1, 2) // NHWC storage seen as NCHW
		w := e.Randn(4, 3, 3, 3)
		return []*tensor.Tensor{tensor.Conv2D(x, w, nil, 1, 1), tensor.Conv2D(tensor.Contiguous(x), w, nil, 1, 1)}
	}})
	return cs
}

type poolDef struct{ n, c, h, w, k, stride, pad int }

func (p poolDef) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_k%d_s%d_p%d", p.n, p.c, p.h, p.w, p.k, p.stride, p.pad)
}

var poolDefs = []poolDef{
	{1, 1, 1, 1, 1, 1, 0}, {2, 3, 7, 13, 2, 2, 0}, {1, 2, 9, 9, 3, 1, 1},
	{2, 3, 8, 7, 3, 2, 1}, {1, 1, 5, 5, 5, 1, 2}, {3, 2, 33, 17, 4, 3, 2},
}

func poolCases() []Case {
	var cs []Case
	for _, p := range poolDefs {
		xs := []int{p.n, p.c, p.h, p.w}
		oh, ow := tensor.ConvOutSize(p.h, p.k, p.stride, p.pad), tensor.ConvOutSize(p.w, p.k, p.stride, p.pad)
		ys := []int{p.n, p.c, oh, ow}
		cs = append(cs,
			Case{Name: "MaxPool2D/" + p.String(), Op: "MaxPool2D", Run: func(e *Env) []*tensor.Tensor {
				out, idx := tensor.MaxPool2D(e.Randn(xs...), p.k, p.stride, p.pad)
				tout, tidx := tensor.MaxPool2D(e.Steps(xs...), p.k, p.stride, p.pad) // ties: first maximum
				return []*tensor.Tensor{out, idx, tout, tidx}
			}},
			Case{Name: "MaxPool2DBackward/" + p.String(), Op: "MaxPool2DBackward", Run: func(e *Env) []*tensor.Tensor {
				_, idx := tensor.MaxPool2D(e.Randn(xs...), p.k, p.stride, p.pad)
				return []*tensor.Tensor{tensor.MaxPool2DBackward(e.Randn(ys...), idx, xs, p.k, p.stride, p.pad)}
			}},
			Case{Name: "AvgPool2D/" + p.String(), Op: "AvgPool2D", Run: func(e *Env) []*tensor.Tensor {
				return []*tensor.Tensor{tensor.AvgPool2D(e.Randn(xs...), p.k, p.stride, p.pad)}
			}},
			Case{Name: "AvgPool2DBackward/" + p.String(), Op: "AvgPool2DBackward", Run: func(e *Env) []*tensor.Tensor {
				return []*tensor.Tensor{tensor.AvgPool2DBackward(e.Randn(ys...), xs, p.k, p.stride, p.pad)}
			}},
		)
	}
	return cs
}

func normCases() []Case {
	bn := func(e *Env, shape []int, training bool) []*tensor.Tensor {
		c := shape[1]
		x := tensor.AddScalar(tensor.Scale(e.Randn(shape...), 2), 1)
		gamma, beta := e.Uniform(0.5, 1.5, c), e.Randn(c)
		rm, rv := e.Randn(c), e.Uniform(0.5, 2, c)
		r := tensor.BatchNorm2D(x, gamma, beta, rm, rv, training, 0.1, 1e-5)
		return []*tensor.Tensor{r.Out, r.Mean, r.InvStd, rm, rv}
	}
	var cs []Case
	for _, s := range [][]int{{4, 3, 5, 7}, {2, 3, 1, 1}, {1, 5, 3, 3}, {7, 1, 2, 13}} {
		cs = append(cs,
			Case{Name: fmt.Sprintf("BatchNormForward/train/%v", s), Op: "BatchNormForward", Tol: 1e-6,
				Run: func(e *Env) []*tensor.Tensor { return bn(e, s, true) }},
			Case{Name: fmt.Sprintf("BatchNormForward/eval/%v", s), Op: "BatchNormForward", Tol: 1e-6,
				Run: func(e *Env) []*tensor.Tensor { return bn(e, s, false) }},
		)
		if s[0]*s[2]*s[3] <= 2 {
			continue // two values per channel: dx is cancellation noise
		}
		cs = append(cs,
			Case{Name: fmt.Sprintf("BatchNormBackward/%v", s), Op: "BatchNormBackward", Tol: 1e-6,
				Run: func(e *Env) []*tensor.Tensor {
					c := s[1]
					x, gamma := e.Randn(s...), e.Uniform(0.5, 1.5, c)
					r := tensor.BatchNorm2D(x, gamma, e.Randn(c), tensor.Zeros(e.B, c), tensor.Ones(e.B, c), true, 0.1, 1e-5)
					dx, dg, db := tensor.BatchNorm2DBackward(e.Randn(s...), x, gamma, r.Mean, r.InvStd, 1e-5)
					return []*tensor.Tensor{dx, dg, db}
				}},
		)
	}
	cs = append(cs, Case{Name: "L2Normalize/shapes", Op: "L2Normalize", Run: func(e *Env) []*tensor.Tensor {
		return []*tensor.Tensor{
			tensor.L2Normalize(e.Randn(7, 13), 1e-10), tensor.L2Normalize(e.Randn(1, 1), 1e-10),
			tensor.L2Normalize(e.Randn(5, 1033), 1e-10), tensor.L2Normalize(e.Randn(3, 4, 5), 1e-3),
			tensor.L2Normalize(tensor.Transpose(e.Randn(13, 7), 0, 1), 1e-10),
			tensor.L2Normalize(tensor.Scale(e.Randn(4, 6), 1e-3), 1e-4), // eps dominates
		}
	}})
	return cs
}

func indexCases() []Case {
	return []Case{
		{Name: "IndexSelect/float32", Op: "IndexSelect", Run: func(e *Env) []*tensor.Tensor {
			return []*tensor.Tensor{
				tensor.IndexSelect(e.Randn(7, 13), 0, e.Indices(5, 7)),
				tensor.IndexSelect(e.Randn(3, 13, 4), 1, e.Indices(29, 13)),
				tensor.IndexSelect(e.Randn(3, 4, 5), 2, e.Indices(1, 5)),
				tensor.IndexSelect(tensor.Transpose(e.Randn(13, 7), 0, 1), 1, e.Indices(13, 13)),
				tensor.IndexSelect(e.Randn(1), 0, e.Indices(3, 1)),
			}
		}},
		{Name: "IndexSelect/int32", Op: "IndexSelect", Run: func(e *Env) []*tensor.Tensor {
			labels := tensor.FromInt32(e.B, []int32{4, -1, 7, 0, 9, 2, 2, 5}, 4, 2)
			return []*tensor.Tensor{tensor.IndexSelect(labels, 0, e.Indices(9, 4)), tensor.IndexSelect(labels, 1, e.Indices(3, 2))}
		}},
		{Name: "IndexAdd/duplicates", Op: "IndexAdd", Run: func(e *Env) []*tensor.Tensor {
			return []*tensor.Tensor{
				tensor.IndexAdd([]int{7, 13}, 0, tensor.FromInt32(e.B, []int32{3, 0, 3, 6, 3}), e.Randn(5, 13)),
				tensor.IndexAdd([]int{3, 4, 5}, 2, e.Indices(11, 5), e.Randn(3, 4, 11)),
				tensor.IndexAdd([]int{2, 9, 3}, 1, e.Indices(40, 9), e.Randn(2, 40, 3)),
			}
		}},
	}
}

func optimCases() []Case {
	adam := func(e *Env, n int, p tensor.AdamParams) []*tensor.Tensor {
		param, grad, m := e.Randn(n), e.Randn(n), tensor.Scale(e.Randn(n), 0.1)
		v := e.Uniform(0, 0.5, n)
		if p.Step == 1 {
			m, v = tensor.Zeros(e.B, n), tensor.Zeros(e.B, n)
		}
		tensor.AdamUpdate(param, grad, m, v, p)
		return []*tensor.Tensor{param, m, v}
	}
	sgd := func(e *Env, n int, p tensor.SGDParams) []*tensor.Tensor {
		param, grad, mom := e.Randn(n), e.Randn(n), e.Randn(n)
		tensor.SGDUpdate(param, grad, mom, p)
		tensor.SGDUpdate(param, tensor.Scale(grad, 0.5), mom, p)
		return []*tensor.Tensor{param, mom}
	}
	return []Case{
		{Name: "AdamUpdate/step1", Op: "AdamUpdate", Run: func(e *Env) []*tensor.Tensor {
			return adam(e, 33, tensor.AdamParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: 1})
		}},
		{Name: "AdamUpdate/step7-decay", Op: "AdamUpdate", Run: func(e *Env) []*tensor.Tensor {
			return adam(e, 1031, tensor.AdamParams{LR: 3e-2, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 5e-4, Step: 7})
		}},
		{Name: "SGDUpdate/momentum", Op: "SGDUpdate", Run: func(e *Env) []*tensor.Tensor {
			return sgd(e, 1031, tensor.SGDParams{LR: 0.1, Momentum: 0.9})
		}},
		{Name: "SGDUpdate/nesterov-decay", Op: "SGDUpdate", Run: func(e *Env) []*tensor.Tensor {
			return sgd(e, 13, tensor.SGDParams{LR: 0.05, Momentum: 0.8, WeightDecay: 1e-2, Nesterov: true})
		}},
		{Name: "SGDUpdate/plain", Op: "SGDUpdate", Run: func(e *Env) []*tensor.Tensor {
			return sgd(e, 7, tensor.SGDParams{LR: 0.5})
		}},
	}
}

// largeN exceeds 65,535 workgroups of 256 invocations.
const largeN = 65535*256 + 4099

func largeCases() []Case {
	return []Case{
		{Name: "Binary/Add/large", Op: "Binary", Run: func(e *Env) []*tensor.Tensor {
			a := e.Uniform(-1, 1, largeN/17+1, 17)
			return []*tensor.Tensor{tensor.Add(a, e.Randn(17)), tensor.Scale(a, 3)}
		}},
		// A float32 tree sum of positive values is accurate to ~1e-6
		// relative (NMSE ~1e-12); a sequential float32 sum drifts to ~1e-8.
		{Name: "Reduce/Sum/large", Op: "Reduce", Tol: 1e-10, Run: func(e *Env) []*tensor.Tensor {
			x := e.Uniform(0, 1, largeN)
			return []*tensor.Tensor{tensor.Sum(x, false), tensor.Max(tensor.Reshape(x, -1, 1), false, 0)}
		}},
	}
}
