package icbpc_test

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vkgrad/vkgrad/icbpc"
	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"
)

func TestPresetsValidate(t *testing.T) {
	for _, name := range icbpc.PresetNames {
		t.Run(name, func(t *testing.T) {
			c, err := icbpc.Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("preset %s does not validate: %v", name, err)
			}
			if c.Preset != name {
				t.Errorf("Preset field %q, want %q", c.Preset, name)
			}
			if icbpc.PresetDescriptions[name] == "" {
				t.Errorf("preset %s has no description", name)
			}
			// JSON round trip: config.json must reproduce the run.
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			var back icbpc.RunConfig
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, c) {
				t.Errorf("JSON round trip changed the preset:\n got %+v\nwant %+v", back, c)
			}
		})
	}
}

// TestPaperPresets checks the paper presets against Tables 1 and 5
// (reference §3.4) and the common training settings.
func TestPaperPresets(t *testing.T) {
	cases := []struct {
		dataset string
		dim     int
		lambda  float32
	}{
		{"mnist", 60, 8}, {"fashion-mnist", 100, 8}, {"coil20", 160, 9},
		{"cifar10", 60, 9}, {"stl10", 100, 8}, {"imagenet10", 100, 8},
	}
	for _, tc := range cases {
		t.Run(tc.dataset, func(t *testing.T) {
			c, err := icbpc.Preset("paper-" + tc.dataset)
			if err != nil {
				t.Fatal(err)
			}
			tr := c.Train
			if tr.LatentDim != tc.dim || tr.Loss.Lambda != tc.lambda || tr.Loss.Alpha != 0.25 {
				t.Errorf("d=%d lambda=%v alpha=%v, want %d, %v, 0.25", tr.LatentDim, tr.Loss.Lambda, tr.Loss.Alpha, tc.dim, tc.lambda)
			}
			if tr.Epochs != 400 || tr.BatchSize != 100 || tr.LR != 1e-3 {
				t.Errorf("schedule %d epochs, batch %d, lr %v; want 400, 100, 1e-3", tr.Epochs, tr.BatchSize, tr.LR)
			}
			if !tr.Loss.UseMMD || !tr.Loss.UseContrastive || !tr.Loss.Negatives || tr.Loss.ContrastiveDistance != icbpc.Composite {
				t.Errorf("loss %+v is not the paper's", tr.Loss)
			}
			if c.Data.Dataset != tc.dataset {
				t.Errorf("dataset %q", c.Data.Dataset)
			}
			if _, ok := icbpc.Table6For(tc.dataset); !ok {
				t.Errorf("no Table 6 row")
			}
		})
	}
	// Aliases resolve to the same preset.
	a, err := icbpc.Preset("paper-fmnist")
	if err != nil || a.Data.Dataset != "fashion-mnist" {
		t.Errorf("paper-fmnist: %v %+v", err, a.Data)
	}
}

func TestCodePreset(t *testing.T) {
	c, err := icbpc.Preset("code")
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.Loss != icbpc.CodeLoss() || c.Data.Pad != 2 || c.Train.LatentDim != 60 || c.Data.Dataset != "mnist" {
		t.Errorf("code preset %+v", c)
	}
	vm, err := c.NewViewMaker(icbpc.Shape{C: 1, H: 32, W: 32})
	if err != nil || vm.Views() != 5 {
		t.Fatalf("code preset views: %v, %v", vm, err)
	}
}

func TestPresetErrors(t *testing.T) {
	for _, name := range []string{"", "paper-", "paper-svhn", "fast"} {
		_, err := icbpc.Preset(name)
		if err == nil || !strings.Contains(err.Error(), "quick") {
			t.Errorf("Preset(%q) = %v, want an error listing the presets", name, err)
		}
	}
	c, _ := icbpc.Preset("quick")
	bad := []func(*icbpc.RunConfig){
		func(c *icbpc.RunConfig) { c.Data.Dataset = "" },
		func(c *icbpc.RunConfig) { c.Augment = "jitter" },
		func(c *icbpc.RunConfig) { c.Views = -1 },
		func(c *icbpc.RunConfig) { c.Train.BatchSize = 1 },
		func(c *icbpc.RunConfig) { c.Train.LatentDim = 0 },
		func(c *icbpc.RunConfig) { c.Data.TrainLimit = -5 },
		func(c *icbpc.RunConfig) { c.Augment = "none" },              // contrastive needs views
		func(c *icbpc.RunConfig) { c.Train.Loss = icbpc.CodeLoss() }, // chain needs 5 views
	}
	for i, f := range bad {
		cc := c
		f(&cc)
		if err := cc.Validate(); err == nil {
			t.Errorf("case %d: invalid config %+v validated", i, cc)
		}
	}
}

func TestNewViewMaker(t *testing.T) {
	s := icbpc.Shape{C: 3, H: 8, W: 8}
	for _, tc := range []struct {
		augment string
		views   int
		want    int
	}{
		{"auto", 0, 1}, {"digits", 2, 2}, {"geometric", 2, 2}, {"geometric-flip", 1, 1}, {"colour", 3, 3}, {"released", 1, 5}, {"none", 1, 0},
	} {
		c := icbpc.RunConfig{Augment: tc.augment, Views: tc.views, Data: icbpc.DataConfig{Dataset: "cifar10"}}
		vm, err := c.NewViewMaker(s)
		if err != nil {
			t.Fatalf("%s: %v", tc.augment, err)
		}
		got := 0
		if vm != nil {
			got = vm.Views()
			// The views are a function of the seed.
			src := make([]float32, 2*s.Len())
			for i := range src {
				src[i] = float32(i%17)/8 - 1
			}
			mk := func() []float32 {
				out := make([][]float32, got)
				for v := range out {
					out[v] = make([]float32, len(src))
				}
				vm.Make(out, src, s, 2, 42)
				return out[0]
			}
			if !reflect.DeepEqual(mk(), mk()) {
				t.Errorf("%s: views differ between calls with the same seed", tc.augment)
			}
		}
		if got != tc.want {
			t.Errorf("%s with %d views: %d views, want %d", tc.augment, tc.views, got, tc.want)
		}
	}
	if _, err := (icbpc.RunConfig{Augment: "auto", Data: icbpc.DataConfig{Dataset: "svhn"}}).NewViewMaker(s); err == nil {
		t.Error("auto augmentation of an unknown dataset: no error")
	}
}

func TestAblationColumns(t *testing.T) {
	base := icbpc.PaperLoss(8, 0.25)
	cfg := icbpc.TrainConfig{Loss: base}
	for _, literal := range []bool{false, true} {
		for _, col := range icbpc.Table6Columns {
			got := col.Apply(cfg, literal).Loss
			if got.UseContrastive != col.UseContrastive || !got.UseMMD {
				t.Errorf("%s: losses %v/%v", col.Name, got.UseMMD, got.UseContrastive)
			}
			if got.ContrastiveDistance != col.Distance {
				t.Errorf("%s: contrastive distance %v", col.Name, got.ContrastiveDistance)
			}
			wantMMD := base.MMDDistance
			if literal {
				wantMMD = col.Distance
			}
			if got.MMDDistance != wantMMD {
				t.Errorf("%s literal=%v: MMD distance %v, want %v", col.Name, literal, got.MMDDistance, wantMMD)
			}
		}
	}
	if len(icbpc.Table6Columns) != 4 {
		t.Fatalf("%d columns", len(icbpc.Table6Columns))
	}
}

// writeShapes writes a class-per-folder tree of small PNGs: class c has
// per images of a bright square at a class-dependent position.
func writeShapes(t *testing.T, dir string, classes, per, size int) {
	t.Helper()
	for c := 0; c < classes; c++ {
		cd := filepath.Join(dir, fmt.Sprintf("class%d", c))
		if err := os.MkdirAll(cd, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < per; i++ {
			img := image.NewGray(image.Rect(0, 0, size, size))
			x0 := (c * size / classes) % (size - 2)
			for y := 1 + i%2; y < size/2+i%2; y++ {
				for x := x0; x < min(x0+size/3, size); x++ {
					img.SetGray(x, y, color.Gray{Y: 255})
				}
			}
			f, err := os.Create(filepath.Join(cd, fmt.Sprintf("%03d.png", i)))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
}

func TestDataConfigLoad(t *testing.T) {
	dir := t.TempDir()
	writeShapes(t, dir, 3, 10, 12)
	c := icbpc.DataConfig{Dataset: "folder", Dir: dir, TrainSplit: icbpc.SplitAll, TestSplit: icbpc.SplitAll, SplitSeed: 3}
	tr, te, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 30 || te != tr {
		t.Fatalf("all/all: train %d, same=%v", tr.Len(), te == tr)
	}
	c.TrainLimit, c.TestLimit = 12, 7
	tr, te, err = c.Load()
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 12 || te.Len() != 7 {
		t.Fatalf("limits: %d and %d images", tr.Len(), te.Len())
	}
	tr2, te2, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tr.Paths, tr2.Paths) || !reflect.DeepEqual(te.Paths, te2.Paths) {
		t.Error("limited subsets differ between loads")
	}
	c.TrainSplit, c.TestSplit, c.TrainLimit, c.TestLimit, c.TestPerClass = icbpc.SplitTrain, icbpc.SplitTest, 0, 0, 2
	tr, te, err = c.Load()
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 24 || te.Len() != 6 {
		t.Errorf("train/test with 2 test images per class: %d and %d", tr.Len(), te.Len())
	}
	c.Classes = 4
	if _, _, err := c.Load(); err == nil || !strings.Contains(err.Error(), "3 classes") {
		t.Errorf("k mismatch: %v", err)
	}
	c.Classes, c.TestPerClass = 3, 50
	if _, _, err := c.Load(); err == nil {
		t.Error("50 test images per class from 2: no error")
	}
}

// BenchmarkQuickPresetStep times training steps of the quick preset (the
// default of cmd/train) on real MNIST digits and the evaluation forward
// pass, and reports the projected wall time of the whole quick run.
func BenchmarkQuickPresetStep(b *testing.B) {
	cfg, err := icbpc.Preset("quick")
	if err != nil {
		b.Fatal(err)
	}
	be, err := tensor.Open("cpu")
	if err != nil {
		b.Fatal(err)
	}
	train, test, err := cfg.Data.Load()
	if err != nil {
		b.Fatal(err)
	}
	vm, err := cfg.NewViewMaker(train.Shape())
	if err != nil {
		b.Fatal(err)
	}
	tr, err := icbpc.NewTrainer(cfg.Train, be, train, vm)
	if err != nil {
		b.Fatal(err)
	}
	idx := make([]int, cfg.Train.BatchSize)
	for i := range idx {
		idx[i] = i
	}
	if _, err := tr.TrainStep(idx); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.TrainStep(idx); err != nil {
			b.Fatal(err)
		}
	}
	step := b.Elapsed().Seconds() / float64(b.N)
	b.StopTimer()
	t0 := time.Now()
	sub := test.Subset(make([]int, 400))
	if _, err := icbpc.EvaluateEncoder(tr.Model, tensor.FromSlice(be, tr.Centroids.Float32(), tr.Centroids.Classes, tr.Centroids.Dim),
		sub, 200, false, false); err != nil {
		b.Fatal(err)
	}
	evalPer := time.Since(t0).Seconds() / 400
	steps := tr.StepsPerEpoch() * cfg.Train.Epochs
	total := float64(steps)*step + float64(cfg.Train.Epochs*test.Len())*evalPer
	b.ReportMetric(float64(cfg.Train.BatchSize)/step, "images/s")
	b.ReportMetric(1/evalPer, "eval-images/s")
	b.ReportMetric(total/60, "quick-run-min")
}

// TestRunCentroidsMatchTrainer checks that RunCentroids gives the
// centroids of the trainer, which cmd/cluster relies on to evaluate a
// checkpoint.
func TestRunCentroidsMatchTrainer(t *testing.T) {
	be, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeShapes(t, dir, 3, 4, 8)
	d, err := icbpc.LoadImageFolder(icbpc.LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []uint64{0, 5} {
		cfg := icbpc.TrainConfig{Encoder: "released", Width: 0.25, LatentDim: 4, Epochs: 1, BatchSize: 4, LR: 1e-3, Seed: seed,
			Loss: icbpc.LossConfig{UseMMD: true, MMDWeight: 1}}
		tr, err := icbpc.NewTrainer(cfg, be, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := icbpc.RunCentroids(cfg, d.Classes)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c, tr.Centroids) {
			t.Errorf("seed %d: RunCentroids differs from the trainer's centroids", seed)
		}
	}
}
