package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"
)

func cpu(t testing.TB) tensor.Backend {
	t.Helper()
	b, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func randInput(b tensor.Backend, seed uint64, shape ...int) *autograd.Var {
	return autograd.Const(tensor.RandUniform(b, seeded(seed), -1, 1, shape...))
}

// TestReleasedEncoderParamCount checks the count the authors' encoder has
// in PyTorch for d = 60 on 1x32x32 input (icbpc-reference.md §3.1).
func TestReleasedEncoderParamCount(t *testing.T) {
	e, err := NewReleasedEncoder(cpu(t), seeded(1), EncoderConfig{LatentDim: 60})
	if err != nil {
		t.Fatal(err)
	}
	if got := CountParams(e); got != 4_929_820 {
		t.Fatalf("released encoder d=60: %d trainable parameters, want 4,929,820", got)
	}
}

// paramShape returns the shape of the named parameter or nil.
func paramShape(m Module, name string) []int {
	for _, p := range m.Params() {
		if p.Name == name {
			return p.Var.Shape()
		}
	}
	return nil
}

func TestEncoderVariants(t *testing.T) {
	b := cpu(t)
	cases := []struct {
		name      string
		build     func() (*Encoder, error)
		in        []int
		headName  string
		headShape []int
		params    int // expected trainable count, 0 to skip
	}{
		{"released-d60", func() (*Encoder, error) { return NewReleasedEncoder(b, seeded(1), EncoderConfig{LatentDim: 60}) },
			[]int{2, 1, 32, 32}, "Linear_down.weight", []int{60, 512}, 4_929_820},
		{"released-coil20-full", func() (*Encoder, error) {
			return NewReleasedEncoder(b, seeded(1), EncoderConfig{LatentDim: 160, InputSize: 128})
		}, nil, "Linear_down.weight", []int{160, 8192}, 4_929_820 - (512*60 + 60) + 8192*160 + 160},
		{"released-coil20-128", func() (*Encoder, error) {
			return NewReleasedEncoder(b, seeded(1), EncoderConfig{LatentDim: 160, InputSize: 128, Width: 0.125})
		}, []int{2, 1, 128, 128}, "Linear_down.weight", []int{160, 64 * 4 * 4}, 0},
		{"released-rgb", func() (*Encoder, error) {
			return NewReleasedEncoder(b, seeded(1), EncoderConfig{LatentDim: 60, InChannels: 3, Width: 0.25})
		}, []int{2, 3, 32, 32}, "block1.0.weight", []int{8, 3, 3, 3}, 0},
		{"released-half", func() (*Encoder, error) {
			return NewReleasedEncoder(b, seeded(1), EncoderConfig{LatentDim: 60, Width: 0.5})
		}, []int{2, 1, 32, 32}, "Linear_down.weight", []int{60, 256}, 0},
		{"table3", func() (*Encoder, error) {
			return NewTable3Encoder(b, seeded(1), EncoderConfig{LatentDim: 60, Width: 0.25})
		},
			[]int{2, 1, 32, 32}, "fc.weight", []int{60, 128}, 0},
		{"table3-flatten", func() (*Encoder, error) {
			return NewTable3Encoder(b, seeded(1), EncoderConfig{LatentDim: 10, Width: 0.25, FlattenHead: true})
		}, []int{2, 1, 32, 32}, "fc.weight", []int{10, 128 * 2 * 2}, 0},
		{"table3-rgb-half", func() (*Encoder, error) {
			return NewTable3Encoder(b, seeded(1), EncoderConfig{LatentDim: 60, InChannels: 3, Width: 0.125})
		}, []int{2, 3, 32, 32}, "conv1.weight", []int{4, 3, 3, 3}, 0},
		// torchvision: resnet18 11,689,512 and resnet50 25,557,032 parameters
		// with the 1000-class fc; here fc is Linear(512 or 2048, 60).
		{"resnet18", func() (*Encoder, error) { return NewResNet18Encoder(b, seeded(1), EncoderConfig{LatentDim: 60}) },
			nil, "fc.weight", []int{60, 512}, 11_689_512 - 513_000 + 512*60 + 60},
		{"resnet50", func() (*Encoder, error) { return NewResNet50Encoder(b, seeded(1), EncoderConfig{LatentDim: 100}) },
			nil, "fc.weight", []int{100, 2048}, 25_557_032 - 2_049_000 + 2048*100 + 100},
		{"resnet18-small", func() (*Encoder, error) {
			return NewResNet18Encoder(b, seeded(1), EncoderConfig{LatentDim: 16, Width: 0.125})
		}, []int{2, 3, 32, 32}, "layer4.1.conv2.weight", []int{64, 64, 3, 3}, 0},
		{"resnet50-small", func() (*Encoder, error) {
			return NewResNet50Encoder(b, seeded(1), EncoderConfig{LatentDim: 16, Width: 0.0625})
		}, []int{2, 3, 32, 32}, "layer4.2.conv3.weight", []int{128, 32, 1, 1}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := c.build()
			if err != nil {
				t.Fatal(err)
			}
			if got := paramShape(e, c.headName); !slices.Equal(got, c.headShape) {
				t.Errorf("%s shape %v, want %v", c.headName, got, c.headShape)
			}
			if c.params != 0 {
				if got := CountParams(e); got != c.params {
					t.Errorf("%d parameters, want %d", got, c.params)
				}
			}
			if c.in == nil {
				return
			}
			z, err := e.Encode(randInput(e.Head.Weight.Value.Backend(), 3, c.in...))
			if err != nil {
				t.Fatal(err)
			}
			if want := []int{c.in[0], e.Config.LatentDim}; !slices.Equal(z.Shape(), want) {
				t.Fatalf("latent shape %v, want %v", z.Shape(), want)
			}
			v := z.Value.Float32s()
			for i := 0; i < c.in[0]; i++ {
				var s float64
				for _, x := range v[i*e.Config.LatentDim : (i+1)*e.Config.LatentDim] {
					s += float64(x) * float64(x)
				}
				if math.Abs(s-1) > 1e-5 {
					t.Errorf("row %d: squared norm %v, want 1", i, s)
				}
			}
		})
	}
}

// TestTorchvisionNames checks the state-dict layout of the ResNets against
// torchvision's (122 and 320 entries including num_batches_tracked).
func TestTorchvisionNames(t *testing.T) {
	b := cpu(t)
	r18, err := NewResNet18Encoder(b, seeded(1), EncoderConfig{LatentDim: 8, Width: 0.125})
	if err != nil {
		t.Fatal(err)
	}
	r50, err := NewResNet50Encoder(b, seeded(1), EncoderConfig{LatentDim: 8, Width: 0.0625})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m       Module
		entries int
		has     []string
		hasNot  []string
	}{
		{r18, 122, []string{"conv1.weight", "bn1.num_batches_tracked", "layer1.1.conv2.weight", "layer2.0.downsample.0.weight",
			"layer2.0.downsample.1.running_var", "layer4.1.bn2.bias", "fc.weight", "fc.bias"},
			[]string{"layer1.0.downsample.0.weight", "conv1.bias", "layer2.1.downsample.0.weight"}},
		{r50, 320, []string{"layer1.0.downsample.0.weight", "layer3.5.conv3.weight", "layer4.2.bn3.running_mean", "fc.bias"},
			[]string{"layer1.1.downsample.0.weight", "layer3.6.conv1.weight"}},
	} {
		names := map[string]bool{}
		for _, s := range modelSlots(c.m) {
			if names[s.Name] {
				t.Errorf("duplicate name %s", s.Name)
			}
			names[s.Name] = true
		}
		if len(names) != c.entries {
			t.Errorf("%s: %d state-dict entries, want %d", c.m.(*Encoder).Kind, len(names), c.entries)
		}
		for _, n := range c.has {
			if !names[n] {
				t.Errorf("%s: missing %s", c.m.(*Encoder).Kind, n)
			}
		}
		for _, n := range c.hasNot {
			if names[n] {
				t.Errorf("%s: unexpected %s", c.m.(*Encoder).Kind, n)
			}
		}
	}
}

func TestBadConfig(t *testing.T) {
	b := cpu(t)
	for _, cfg := range []EncoderConfig{{}, {LatentDim: -1}, {LatentDim: 4, Width: -1}, {LatentDim: 4, InChannels: -2}, {LatentDim: 4, InputSize: 2}} {
		if _, err := NewReleasedEncoder(b, seeded(1), cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%+v: err %v, want ErrBadConfig", cfg, err)
		}
	}
}

// TestWrongInputShape checks that a bad input names the layer that rejects it.
func TestWrongInputShape(t *testing.T) {
	b := cpu(t)
	e, err := NewReleasedEncoder(b, seeded(1), EncoderConfig{LatentDim: 8, Width: 0.125})
	if err != nil {
		t.Fatal(err)
	}
	t3, err := NewTable3Encoder(b, seeded(1), EncoderConfig{LatentDim: 8, Width: 0.125, FlattenHead: true})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		m    Module
		in   []int
		want string
	}{
		{"channels", e, []int{2, 3, 32, 32}, "encoder.block1.0: input has 3 channels, layer expects 1"},
		{"rank", e, []int{2, 32, 32}, "encoder.block1.0: input has rank 3"},
		{"spatial", e, []int{2, 1, 64, 64}, "encoder.Linear_down: input must be [N, 64]"},
		{"table3-spatial", t3, []int{2, 1, 40, 40}, "encoder.fc: input must be [N, 256]"},
		{"table3-channels", t3, []int{2, 1, 32, 32}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Apply(c.m, randInput(b, 1, c.in...))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var oe *tensor.OpError
			if !errors.As(err, &oe) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want an *tensor.OpError containing %q", err, c.want)
			}
		})
	}
	// A block used on its own reports its local path.
	blk := NewBasicBlock(b, seeded(1), 4, 8, 2, ShortcutConvBias)
	if _, err := Apply(blk, randInput(b, 1, 1, 5, 8, 8)); err == nil || !strings.Contains(err.Error(), "conv1: input has 5 channels, layer expects 4") {
		t.Fatalf("block error %v", err)
	}
}

// TestInit checks PyTorch's default initialisation: conv and linear weights
// and biases uniform in +-1/sqrt(fan_in), batch norm gamma 1, beta 0,
// running mean 0 and variance 1, reproducible from the seed.
func TestInit(t *testing.T) {
	b := cpu(t)
	conv := NewConv2d(b, seeded(7), 16, 64, 3, 1, 1, true)
	lin := NewLinear(b, seeded(7), 300, 200, true)
	for _, c := range []struct {
		name  string
		v     *autograd.Var
		fanIn int
	}{
		{"conv.weight", conv.Weight, 16 * 9}, {"conv.bias", conv.Bias, 16 * 9},
		{"linear.weight", lin.Weight, 300}, {"linear.bias", lin.Bias, 300},
	} {
		bound := 1 / math.Sqrt(float64(c.fanIn))
		vals := c.v.Value.Float32s()
		var sum, sq, mx float64
		for _, x := range vals {
			sum += float64(x)
			sq += float64(x) * float64(x)
			mx = math.Max(mx, math.Abs(float64(x)))
		}
		n := float64(len(vals))
		if mx > bound {
			t.Errorf("%s: |w| up to %v exceeds the bound %v", c.name, mx, bound)
		}
		if n >= 1000 {
			// Mean and variance of U(-a, a): 0 and a^2/3, within 5 standard errors.
			if se := bound / math.Sqrt(3*n); math.Abs(sum/n) > 5*se {
				t.Errorf("%s: mean %v, want 0 +- %v", c.name, sum/n, 5*se)
			}
			if v, want := sq/n, bound*bound/3; math.Abs(v-want) > 0.05*want {
				t.Errorf("%s: variance %v, want %v", c.name, v, want)
			}
			if mx < 0.95*bound {
				t.Errorf("%s: |w| only reaches %v of the bound %v", c.name, mx, bound)
			}
		}
	}
	again := NewConv2d(b, seeded(7), 16, 64, 3, 1, 1, true)
	other := NewConv2d(b, seeded(8), 16, 64, 3, 1, 1, true)
	if !equalF(conv.Weight.Value.Float32s(), again.Weight.Value.Float32s()) {
		t.Error("same seed gave different weights")
	}
	if equalF(conv.Weight.Value.Float32s(), other.Weight.Value.Float32s()) {
		t.Error("different seeds gave the same weights")
	}
	bn := NewBatchNorm2d(b, 5)
	for _, c := range []struct {
		name string
		t    *tensor.Tensor
		want float32
	}{{"gamma", bn.Weight.Value, 1}, {"beta", bn.Bias.Value, 0}, {"running_mean", bn.RunningMean, 0}, {"running_var", bn.RunningVar, 1}} {
		for _, x := range c.t.Float32s() {
			if x != c.want {
				t.Errorf("bn %s = %v, want %v", c.name, x, c.want)
			}
		}
	}
	if bn.Eps != 1e-5 || bn.Momentum != 0.1 {
		t.Errorf("bn eps %v momentum %v, want 1e-5 and 0.1", bn.Eps, bn.Momentum)
	}
}

func equalF(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestBatchNormModes checks that training updates the running statistics
// and the counter, and evaluation uses and keeps them.
func TestBatchNormModes(t *testing.T) {
	b := cpu(t)
	bn := NewBatchNorm2d(b, 3)
	x := autograd.Const(tensor.RandNormal(b, seeded(2), 2, 3, 4, 3, 5, 5))
	bn.Forward(x)
	if bn.NumBatchesTracked != 1 {
		t.Fatalf("num_batches_tracked %d after one training batch", bn.NumBatchesTracked)
	}
	// PyTorch: running_mean = 0.9*0 + 0.1*batch_mean.
	xs := x.Value.Float32s()
	for c := 0; c < 3; c++ {
		var s float64
		n := 0
		for i := 0; i < 4; i++ {
			for j := 0; j < 25; j++ {
				s += float64(xs[(i*3+c)*25+j])
				n++
			}
		}
		if got, want := float64(bn.RunningMean.Float32s()[c]), 0.1*s/float64(n); math.Abs(got-want) > 1e-5 {
			t.Errorf("running_mean[%d] = %v, want %v", c, got, want)
		}
	}
	rm, rv := bn.RunningMean.Float32s(), bn.RunningVar.Float32s()
	bn.SetTraining(false)
	out := bn.Forward(x).Value.Float32s()
	if bn.NumBatchesTracked != 1 || !equalF(rm, bn.RunningMean.Float32s()) || !equalF(rv, bn.RunningVar.Float32s()) {
		t.Fatal("evaluation changed the running statistics")
	}
	// Eval: (x - rm)/sqrt(rv + eps) with gamma 1, beta 0.
	for i, v := range out {
		c := (i / 25) % 3
		want := (float64(xs[i]) - float64(rm[c])) / math.Sqrt(float64(rv[c])+1e-5)
		if math.Abs(float64(v)-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Fatalf("eval output %d = %v, want %v", i, v, want)
		}
	}
}

func TestFreezePrefixes(t *testing.T) {
	b := cpu(t)
	e, err := NewResNet18Encoder(b, seeded(1), EncoderConfig{LatentDim: 8, Width: 0.125})
	if err != nil {
		t.Fatal(err)
	}
	FreezeAllExcept(e, PretrainedTrainable...)
	for _, p := range e.Params() {
		want := matchPrefix(p.Name, "layer3") || matchPrefix(p.Name, "layer4") || matchPrefix(p.Name, "fc")
		if p.Var.RequiresGrad() != want {
			t.Errorf("%s: requires grad %v, want %v", p.Name, p.Var.RequiresGrad(), want)
		}
	}
	if n := Unfreeze(e, "layer1"); n != 12 { // 2 blocks x (2 conv + 2 bn x 2)
		t.Errorf("Unfreeze(layer1) touched %d parameters, want 12", n)
	}
	m := NewSequential(NewConv2d(b, seeded(1), 1, 1, 1, 1, 0, true))
	for i := 0; i < 11; i++ {
		m.Layers = append(m.Layers, NewConv2d(b, seeded(1), 1, 1, 1, 1, 0, true))
	}
	if n := Freeze(m, "1"); n != 2 {
		t.Errorf("Freeze(\"1\") froze %d parameters, want 2 (not those of layer 10 or 11)", n)
	}
}

// trainStep runs forward, loss = sum(z * r), backward and an optimizer step.
func trainStep(t testing.TB, m Module, opt Optimizer, x, r *autograd.Var) {
	t.Helper()
	opt.ZeroGrad()
	loss := autograd.Sum(autograd.Mul(m.Forward(x), r), false)
	if err := loss.Backward(); err != nil {
		t.Fatal(err)
	}
	if err := opt.Step(); err != nil {
		t.Fatal(err)
	}
}

// TestFrozenParamNotUpdated shows that a frozen parameter gets no gradient
// and stays bit-identical under Adam and SGD, even with weight decay (which
// would move it if the optimizer touched it), while the others change.
func TestFrozenParamNotUpdated(t *testing.T) {
	b := cpu(t)
	for _, kind := range []string{"adam", "sgd"} {
		t.Run(kind, func(t *testing.T) {
			e, err := NewReleasedEncoder(b, seeded(1), EncoderConfig{LatentDim: 8, Width: 0.125})
			if err != nil {
				t.Fatal(err)
			}
			if n := Freeze(e, "block1", "block3.conv1"); n != 5 {
				t.Fatalf("froze %d parameters, want 5", n)
			}
			var opt Optimizer
			if kind == "adam" {
				cfg := DefaultAdamConfig()
				cfg.WeightDecay = 0.1
				opt, err = NewAdam(e.Params(), cfg)
			} else {
				opt, err = NewSGD(e.Params(), SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 0.1})
			}
			if err != nil {
				t.Fatal(err)
			}
			before := map[string][]float32{}
			for _, p := range e.Params() {
				before[p.Name] = p.Var.Value.Float32s()
			}
			x := randInput(b, 2, 4, 1, 32, 32)
			r := randInput(b, 3, 4, 8)
			for i := 0; i < 2; i++ {
				trainStep(t, e, opt, x, r)
			}
			for _, p := range e.Params() {
				frozen := matchPrefix(p.Name, "block1") || matchPrefix(p.Name, "block3.conv1")
				same := equalF(before[p.Name], p.Var.Value.Float32s())
				if frozen && (!same || p.Var.Grad != nil) {
					t.Errorf("frozen %s changed (%v) or has a gradient (%v)", p.Name, !same, p.Var.Grad != nil)
				}
				if !frozen && same {
					t.Errorf("trainable %s did not change", p.Name)
				}
			}
			for _, s := range opt.State() {
				if strings.HasPrefix(s.Name, "block1.") || strings.HasPrefix(s.Name, "block3.conv1.") {
					t.Errorf("optimizer holds state %s for a frozen parameter", s.Name)
				}
			}
		})
	}
}

// TestOptimizerMath checks Adam and SGD against a float64 host
// implementation of PyTorch's update rules over three steps, including a
// parameter that has no gradient in the second step.
func TestOptimizerMath(t *testing.T) {
	b := cpu(t)
	p0 := []float32{0.5, -1, 2, 0.25}
	grads := [][]float32{{0.1, -0.2, 0.3, 0.05}, nil, {-0.4, 0.2, 0.1, 1}, {0.3, 0.3, -0.3, 0}}
	t.Run("adam", func(t *testing.T) {
		cfg := AdamConfig{LR: 0.01, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.05}
		v := autograd.Param(tensor.FromSlice(b, p0))
		opt, err := NewAdam([]NamedParam{{"p", v}}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		p, m, s := f64(p0), make([]float64, 4), make([]float64, 4)
		step := 0
		for _, g := range grads {
			v.Grad = nil
			if g != nil {
				v.Grad = tensor.FromSlice(b, g)
				step++
				b1, b2 := float64(cfg.Beta1), float64(cfg.Beta2)
				for i := range p {
					gi := float64(g[i]) + float64(cfg.WeightDecay)*p[i]
					m[i] = b1*m[i] + (1-b1)*gi
					s[i] = b2*s[i] + (1-b2)*gi*gi
					mh := m[i] / (1 - math.Pow(b1, float64(step)))
					vh := s[i] / (1 - math.Pow(b2, float64(step)))
					p[i] -= float64(cfg.LR) * mh / (math.Sqrt(vh) + float64(cfg.Eps))
				}
			}
			if err := opt.Step(); err != nil {
				t.Fatal(err)
			}
			closeTo(t, "adam param", v.Value.Float32s(), p, 1e-6)
		}
		if opt.state[0].step != 3 {
			t.Errorf("step %d, want 3 (a step without gradient does not count)", opt.state[0].step)
		}
	})
	t.Run("sgd", func(t *testing.T) {
		for _, nesterov := range []bool{false, true} {
			cfg := SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01, Nesterov: nesterov}
			v := autograd.Param(tensor.FromSlice(b, p0))
			opt, err := NewSGD([]NamedParam{{"p", v}}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			p, buf := f64(p0), make([]float64, 4)
			for _, g := range grads {
				v.Grad = nil
				if g != nil {
					v.Grad = tensor.FromSlice(b, g)
					for i := range p {
						gi := float64(g[i]) + float64(cfg.WeightDecay)*p[i]
						buf[i] = float64(cfg.Momentum)*buf[i] + gi
						d := buf[i]
						if nesterov {
							d = gi + float64(cfg.Momentum)*buf[i]
						}
						p[i] -= float64(cfg.LR) * d
					}
				}
				if err := opt.Step(); err != nil {
					t.Fatal(err)
				}
				closeTo(t, "sgd param", v.Value.Float32s(), p, 1e-6)
			}
		}
	})
	if _, err := NewAdam(nil, AdamConfig{LR: 1e-3, Beta1: 1, Beta2: 0.9, Eps: 1e-8}); err == nil {
		t.Error("NewAdam accepted beta1 = 1")
	}
	if _, err := NewSGD(nil, SGDConfig{LR: 0.1, Nesterov: true}); err == nil {
		t.Error("NewSGD accepted Nesterov without momentum")
	}
	v := autograd.Param(tensor.FromSlice(b, p0))
	if _, err := NewAdam([]NamedParam{{"p", v}, {"p", v}}, DefaultAdamConfig()); err == nil {
		t.Error("NewAdam accepted a repeated parameter name")
	}
}

func f64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	for i := range got {
		if math.Abs(float64(got[i])-want[i]) > tol*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}
