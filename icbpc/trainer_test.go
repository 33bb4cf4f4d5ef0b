package icbpc

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// shapesDataset generates n grey 16x16 images of four classes (filled
// square, ring, plus sign, diagonal cross) at random positions and sizes
// with pixel noise.
func shapesDataset(n int, seed uint64) *Dataset {
	const s = 16
	rng := rand.New(rand.NewPCG(seed, 99))
	d := &Dataset{Name: "shapes", Classes: 4, C: 1, H: s, W: s, Pixels: make([]uint8, n*s*s), Labels: make([]int, n)}
	for i := 0; i < n; i++ {
		c := i % 4
		d.Labels[i] = c
		r := 4 + rng.IntN(2)
		cx, cy := r+1+rng.IntN(s-2*r-2), r+1+rng.IntN(s-2*r-2)
		img := d.Pixels[i*s*s : (i+1)*s*s]
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				dx, dy := x-cx, y-cy
				in := iabs(dx) <= r && iabs(dy) <= r
				var on bool
				switch c {
				case 0:
					on = iabs(dx) < r && iabs(dy) < r
				case 1:
					q := dx*dx + dy*dy
					on = q <= r*r && 4*q >= (2*r-3)*(2*r-3)
				case 2:
					on = in && (iabs(dx) <= 1 || iabs(dy) <= 1)
				case 3:
					on = in && (iabs(dx-dy) <= 1 || iabs(dx+dy) <= 1)
				}
				v := 20 + rng.IntN(30)
				if on {
					v = 200 + rng.IntN(55)
				}
				img[y*s+x] = uint8(v)
			}
		}
	}
	return d
}

func toyConfig() TrainConfig {
	loss := PaperLoss(1, 0.25)
	return TrainConfig{Encoder: "released", Width: 0.25, LatentDim: 8, Epochs: 1, BatchSize: 32, LR: 2e-3, Seed: 7, Loss: loss}
}

// The "done when" test of the icbpc issue: the full ICBPC loss (MMD +
// contrastive with negatives, composite distance) learns a 4-class toy set
// on the CPU backend.
func TestTrainerLearnsToyShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few hundred steps")
	}
	b := cpuBackend(t)
	data := shapesDataset(512, 1)
	test := shapesDataset(256, 2)
	aug := NewAugmenter(Pipeline{Name: "toy", Interp: InterpNearest, Fill: -1, Ops: []Op{
		RandomAffine{Degrees: [2]float64{-10, 10}, Translate: [2]float64{0.2, 0.2}},
	}})
	tr, err := NewTrainer(toyConfig(), b, data, aug)
	if err != nil {
		t.Fatal(err)
	}
	var first, last float64
	for e := 0; e < 20; e++ { // 20 epochs of 16 steps = 320 steps
		st, err := tr.RunEpoch(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if e == 0 {
			first = st.Loss
		}
		last = st.Loss
	}
	ev, err := tr.Evaluate(test, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loss %.4f -> %.4f; held-out %v", first, last, ev.Scores)
	if ev.Scores.ACC < 0.95 {
		t.Fatalf("held-out ACC %.3f < 0.95 after %d steps", ev.Scores.ACC, tr.Step)
	}
}

// A run interrupted mid-epoch and resumed from its checkpoint ends with
// exactly the parameters of the uninterrupted run.
func TestTrainerResumeIsIdentical(t *testing.T) {
	b := cpuBackend(t)
	data := shapesDataset(128, 3)
	aug := NewAugmenter(GeometricPipeline(false))
	cfg := toyConfig()
	full, err := NewTrainer(cfg, b, data, aug)
	if err != nil {
		t.Fatal(err)
	}
	for e := 0; e < 2; e++ {
		if _, err := full.RunEpoch(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Interrupt after 3 steps of the first epoch.
	part, _ := NewTrainer(cfg, b, data, aug)
	ctx, cancel := context.WithCancel(context.Background())
	_, err = part.RunEpoch(ctx, func(s StepInfo) {
		if s.StepInEpoch == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted epoch returned %v, want context.Canceled", err)
	}
	ck := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := part.Save(ck); err != nil {
		t.Fatal(err)
	}
	resumed, _ := NewTrainer(cfg, b, data, aug)
	if err := resumed.Load(ck); err != nil {
		t.Fatal(err)
	}
	if resumed.Step != 3 || resumed.Epoch != 0 {
		t.Fatalf("resumed at step %d epoch %d, want 3 and 0", resumed.Step, resumed.Epoch)
	}
	for resumed.Epoch < 2 {
		if _, err := resumed.RunEpoch(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	fp, rp := full.Model.Params(), resumed.Model.Params()
	for i := range fp {
		a, c := fp[i].Var.Value.Float32s(), rp[i].Var.Value.Float32s()
		for j := range a {
			if a[j] != c[j] {
				t.Fatalf("%s[%d]: uninterrupted %v, resumed %v", fp[i].Name, j, a[j], c[j])
			}
		}
	}
}

// A non-finite loss stops training before the parameters change.
func TestTrainerStopsOnNaN(t *testing.T) {
	b := cpuBackend(t)
	data := shapesDataset(64, 4)
	tr, err := NewTrainer(toyConfig(), b, data, NewAugmenter(GeometricPipeline(false)))
	if err != nil {
		t.Fatal(err)
	}
	p := tr.Model.Params()[0].Var.Value
	before := p.Float32s()
	// Poison the learning signal: NaN in the input images.
	tr.Config.LR = 1e-3
	nanData := *data
	tr.Data = &nanData
	tr.Data.Pixels = append([]uint8(nil), data.Pixels...)
	tr.Augment = nanViews{}
	_, err = tr.RunEpoch(context.Background(), nil)
	if !errors.Is(err, ErrNaNLoss) {
		t.Fatalf("got %v, want ErrNaNLoss", err)
	}
	after := p.Float32s()
	for i := range before {
		if before[i] != after[i] {
			t.Fatal("parameters changed on a NaN step")
		}
	}
}

func iabs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

type nanViews struct{}

func (nanViews) Views() int { return 1 }
func (nanViews) Make(views [][]float32, src []float32, s Shape, n int, seed uint64) {
	for i := range views[0] {
		views[0][i] = float32(math.NaN())
	}
}
