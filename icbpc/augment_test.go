package icbpc

import (
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// The Augmenter is what the trainer consumes.
var _ ViewMaker = (*Augmenter)(nil)

// ramp returns an image whose every value is distinct: v = -1 + 2*k/(n-1).
func ramp(s Shape) []float32 {
	img := make([]float32, s.Len())
	for k := range img {
		img[k] = -1 + 2*float32(k)/float32(len(img)-1)
	}
	return img
}

func ctxFor(seed uint64, interp Interp) *OpContext {
	return &OpContext{Rand: rand.New(rand.NewPCG(seed, 1)), Interp: interp, Fill: -1}
}

func TestAugmentIdentities(t *testing.T) {
	s := Shape{3, 9, 9}
	orig := ramp(s)
	for _, interp := range []Interp{InterpNearest, InterpBilinear} {
		cases := []struct {
			name string
			ops  []Op
		}{
			{"flip twice", []Op{HFlip{P: 1}, HFlip{P: 1}}},
			{"rotate 0", []Op{RandomAffine{Degrees: [2]float64{0, 0}}}},
			{"rotate 360", []Op{RandomAffine{Degrees: [2]float64{360, 360}}}},
			{"rotate 90 four times", []Op{RandomAffine{Degrees: [2]float64{90, 90}}, RandomAffine{Degrees: [2]float64{90, 90}},
				RandomAffine{Degrees: [2]float64{90, 90}}, RandomAffine{Degrees: [2]float64{90, 90}}}},
			{"scale 1", []Op{RandomAffine{Scale: [2]float64{1, 1}}}},
			{"full crop", []Op{RandomResizedCrop{Scale: [2]float64{1, 1}, Ratio: [2]float64{1, 1}}}},
			{"jitter factors 1", []Op{ColorJitter{}}},
		}
		for _, tc := range cases {
			img := slices.Clone(orig)
			ctx := ctxFor(1, interp)
			for _, op := range tc.ops {
				op.Apply(img, s, ctx)
			}
			for k := range img {
				if math.Abs(float64(img[k]-orig[k])) > 1e-6 {
					t.Fatalf("%s (%v): value %d is %v, want %v", tc.name, interp, k, img[k], orig[k])
				}
			}
		}
	}
	// Flipping once mirrors each row.
	img := slices.Clone(orig)
	HFlip{}.Apply(img, s, ctxFor(1, InterpNearest))
	if img[0] != orig[8] || img[2*81+9*4+3] != orig[2*81+9*4+5] {
		t.Error("HFlip does not mirror rows")
	}
	// Grey images are unchanged by colour dropping and saturation.
	g := Shape{1, 5, 5}
	gimg := ramp(g)
	before := slices.Clone(gimg)
	RandomGrayscale{P: 1}.Apply(gimg, g, ctxFor(2, InterpNearest))
	if !slices.Equal(gimg, before) {
		t.Error("RandomGrayscale changed a one-channel image")
	}
}

// TestRotationDirection checks that positive angles turn the picture
// counter-clockwise on screen: out[y][x] = in[x][n-1-y] for 90°.
func TestRotationDirection(t *testing.T) {
	for _, n := range []int{8, 9} {
		s := Shape{1, n, n}
		in := ramp(s)
		out := slices.Clone(in)
		RandomAffine{Degrees: [2]float64{90, 90}}.Apply(out, s, ctxFor(1, InterpNearest))
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				if out[y*n+x] != in[x*n+n-1-y] {
					t.Fatalf("n=%d: out[%d][%d] = %v, want in[%d][%d] = %v", n, y, x, out[y*n+x], x, n-1-y, in[x*n+n-1-y])
				}
			}
		}
	}
}

// TestReleasedViews checks T1..T5 against icbpc-reference.md §7.2.
func TestReleasedViews(t *testing.T) {
	views := ReleasedViews()
	if len(views) != 5 {
		t.Fatalf("%d views", len(views))
	}
	for _, v := range views {
		if v.Interp != InterpNearest || v.Fill != -1 {
			t.Errorf("%s: %v fill %v, want nearest and -1", v.Name, v.Interp, v.Fill)
		}
	}
	s := Shape{1, 32, 32}
	in := make([]float32, s.Len())
	for k := range in {
		in[k] = float32(k%97)/48 - 1 // distinct rows, values in [-1, 1]
	}

	// T2 always mirrors.
	out := slices.Clone(in)
	views[1].Apply(out, s, rand.New(rand.NewPCG(1, 1)))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			if out[y*32+x] != in[y*32+31-x] {
				t.Fatal("T2 is not a mirror image")
			}
		}
	}

	// T3 is a pure vertical shift by round(U(-3.2, 3.2)) pixels: -3..3,
	// every value seen, with black fill.
	seen := map[int]int{}
	for seed := uint64(0); seed < 400; seed++ {
		out := slices.Clone(in)
		views[2].Apply(out, s, rand.New(rand.NewPCG(seed, 7)))
		shift := -100
		for k := -4; k <= 4 && shift == -100; k++ {
			ok := true
			for y := 0; y < 32 && ok; y++ {
				for x := 0; x < 32; x++ {
					want := float32(-1)
					if yy := y - k; yy >= 0 && yy < 32 {
						want = in[yy*32+x]
					}
					if out[y*32+x] != want {
						ok = false
						break
					}
				}
			}
			if ok {
				shift = k
			}
		}
		if shift == -100 {
			t.Fatalf("seed %d: T3 output is not a vertical shift of the input", seed)
		}
		seen[shift]++
	}
	for k := -3; k <= 3; k++ {
		if seen[k] == 0 {
			t.Errorf("T3 never shifted by %d (counts %v)", k, seen)
		}
	}
	if len(seen) != 7 {
		t.Errorf("T3 shifts %v, want exactly -3..3", seen)
	}

	// T5 shears: a vertical line leans right at the bottom (negative
	// angles the other way); angles lie in [-10°, 5°], so the lean at the
	// top and bottom rows (15.5 rows from the centre) is at most
	// tan(10°)*15.5 = 2.7 pixels left or tan(5°)*15.5 = 1.4 right.
	line := make([]float32, s.Len())
	for k := range line {
		line[k] = -1
	}
	for y := 0; y < 32; y++ {
		line[y*32+16] = 1
	}
	col := func(img []float32, y int) int {
		for x := 0; x < 32; x++ {
			if img[y*32+x] == 1 {
				return x
			}
		}
		return -1
	}
	for seed := uint64(0); seed < 100; seed++ {
		out := slices.Clone(line)
		views[4].Apply(out, s, rand.New(rand.NewPCG(seed, 3)))
		lean := col(out, 31) - col(out, 0) // = 2*tan(angle)*15.5 up to rounding
		if lean < -6 || lean > 3 {
			t.Fatalf("seed %d: T5 lean %d px outside the [-10°, 5°] range", seed, lean)
		}
	}
	fixed := slices.Clone(line)
	RandomAffine{ShearX: [2]float64{10, 10}}.Apply(fixed, s, ctxFor(1, InterpNearest))
	if !(col(fixed, 31) > 16 && col(fixed, 0) < 16) {
		t.Errorf("positive x-shear: bottom x %d, top x %d; want bottom right of 16, top left", col(fixed, 31), col(fixed, 0))
	}

	// T4 scales about the centre: a centred 4x4 block stays on the centre.
	block := make([]float32, s.Len())
	for k := range block {
		block[k] = -1
	}
	for y := 14; y < 18; y++ {
		for x := 14; x < 18; x++ {
			block[y*32+x] = 1
		}
	}
	for seed := uint64(0); seed < 50; seed++ {
		out := slices.Clone(block)
		views[3].Apply(out, s, rand.New(rand.NewPCG(seed, 5)))
		if out[15*32+15] != 1 || out[16*32+16] != 1 || out[0] != -1 || out[10*32+10] != -1 {
			t.Fatalf("seed %d: T4 moved the centre block", seed)
		}
	}

	// T1 rotates by at most 10°: the image centre keeps its value and the
	// far corners of a 32-px image stay inside the ±10° envelope.
	for seed := uint64(0); seed < 50; seed++ {
		out := slices.Clone(block)
		views[0].Apply(out, s, rand.New(rand.NewPCG(seed, 9)))
		if out[15*32+15] != 1 || out[16*32+16] != 1 {
			t.Fatalf("seed %d: T1 moved the centre", seed)
		}
	}
}

func TestAppearanceOps(t *testing.T) {
	s := Shape{3, 16, 16}
	rng := rand.New(rand.NewPCG(3, 3))
	photo := make([]float32, s.Len())
	for k := range photo {
		photo[k] = float32(rng.Float64()*2 - 1)
	}
	constant := func(v float32) []float32 {
		img := make([]float32, s.Len())
		for k := range img {
			img[k] = v
		}
		return img
	}
	// Colour dropping makes the channels equal.
	img := slices.Clone(photo)
	RandomGrayscale{P: 1}.Apply(img, s, ctxFor(1, InterpBilinear))
	for p := 0; p < 256; p++ {
		if img[p] != img[256+p] || img[p] != img[512+p] {
			t.Fatal("grayscale left colour")
		}
	}
	// Jitter keeps values in range; black stays black under brightness and
	// saturation; a flat image is unchanged by contrast.
	for seed := uint64(0); seed < 20; seed++ {
		img := slices.Clone(photo)
		ColorJitter{Brightness: 0.8, Contrast: 0.8, Saturation: 0.8}.Apply(img, s, ctxFor(seed, InterpBilinear))
		for _, v := range img {
			if !(v >= -1 && v <= 1) {
				t.Fatalf("jitter produced %v", v)
			}
		}
		black := constant(-1)
		ColorJitter{Brightness: 0.8, Saturation: 0.8}.Apply(black, s, ctxFor(seed, InterpBilinear))
		flat := constant(0.25)
		ColorJitter{Contrast: 0.9}.Apply(flat, s, ctxFor(seed, InterpBilinear))
		for k := range black {
			if black[k] != -1 || math.Abs(float64(flat[k]-0.25)) > 1e-6 {
				t.Fatalf("seed %d: black -> %v, flat 0.25 -> %v", seed, black[k], flat[k])
			}
		}
	}
	// Blur leaves a flat image alone and spreads an impulse symmetrically.
	flat := constant(0.5)
	GaussianBlur{Sigma: [2]float64{1.5, 1.5}}.Apply(flat, s, ctxFor(1, InterpBilinear))
	imp := constant(-1)
	imp[8*16+8] = 1
	GaussianBlur{Sigma: [2]float64{1, 1}}.Apply(imp, s, ctxFor(1, InterpBilinear))
	for k := range flat {
		if math.Abs(float64(flat[k]-0.5)) > 1e-5 {
			t.Fatalf("blur changed a flat image: %v", flat[k])
		}
	}
	if !(imp[8*16+8] < 1 && imp[8*16+8] > imp[8*16+9] && imp[8*16+9] > -1 &&
		math.Abs(float64(imp[8*16+9]-imp[8*16+7])) < 1e-6 && math.Abs(float64(imp[7*16+8]-imp[9*16+8])) < 1e-6) {
		t.Errorf("impulse response: centre %v, right %v, left %v", imp[8*16+8], imp[8*16+9], imp[8*16+7])
	}
	for _, tc := range [][3]int{{-1, 5, 1}, {5, 5, 3}, {0, 5, 0}, {4, 5, 4}, {-6, 5, 2}, {9, 5, 1}, {3, 1, 0}} {
		if got := reflectIndex(tc[0], tc[1]); got != tc[2] {
			t.Errorf("reflectIndex(%d, %d) = %d, want %d", tc[0], tc[1], got, tc[2])
		}
	}
	// Sobel: flat -> no edges (-1); a vertical step -> edges along it only.
	flat = constant(0.3)
	Sobel{}.Apply(flat, s, ctxFor(1, InterpBilinear))
	step := constant(-1)
	for c := 0; c < 3; c++ {
		for y := 0; y < 16; y++ {
			for x := 8; x < 16; x++ {
				step[c*256+y*16+x] = 1
			}
		}
	}
	Sobel{}.Apply(step, s, ctxFor(1, InterpBilinear))
	for k := range flat {
		if flat[k] != -1 {
			t.Fatalf("Sobel of a flat image: %v", flat[k])
		}
	}
	if step[5*16+8] != 1 || step[5*16+7] != 1 || step[5*16+2] != -1 || step[5*16+13] != -1 {
		t.Errorf("Sobel of a step: row 5 = %v", step[5*16:6*16])
	}
}

func TestAugmenterDeterministic(t *testing.T) {
	s := Shape{3, 24, 24}
	n := 13
	rng := rand.New(rand.NewPCG(5, 5))
	src := make([]float32, n*s.Len())
	for k := range src {
		src[k] = float32(rng.Float64()*2 - 1)
	}
	pipes := append(ReleasedViews(), ColourPipeline(s), GeometricPipeline(true))
	run := func(workers int, seed uint64) [][]float32 {
		a := NewAugmenter(pipes...)
		a.Workers = workers
		views := make([][]float32, a.Views())
		for v := range views {
			views[v] = make([]float32, n*s.Len())
		}
		a.Make(views, src, s, n, seed)
		return views
	}
	ref := run(1, 42)
	for _, w := range []int{2, 3, 8, runtime.GOMAXPROCS(0)} {
		got := run(w, 42)
		for v := range ref {
			if !slices.Equal(got[v], ref[v]) {
				t.Fatalf("workers=%d: view %d differs from the single-goroutine result", w, v)
			}
		}
	}
	other := run(2, 43)
	for v := range ref {
		if v == 1 {
			continue // T2 is a deterministic flip
		}
		if slices.Equal(other[v], ref[v]) {
			t.Errorf("view %d (%s) identical for seeds 42 and 43", v, pipes[v].Name)
		}
	}
	for v := range ref {
		for k, x := range ref[v] {
			if !(x >= -1 && x <= 1) {
				t.Fatalf("view %d value %d = %v outside [-1, 1]", v, k, x)
			}
		}
	}
	// The source batch is not modified.
	rng = rand.New(rand.NewPCG(5, 5))
	for k := range src {
		if src[k] != float32(rng.Float64()*2-1) {
			t.Fatal("Make modified its source")
		}
	}
}

func TestPresets(t *testing.T) {
	grey, colour := Shape{1, 32, 32}, Shape{3, 96, 96}
	for _, tc := range []struct {
		name string
		s    Shape
		want string
	}{
		{"mnist", grey, "digits"}, {"fashion-mnist", grey, "geometric"}, {"coil20", Shape{1, 128, 128}, "geometric"},
		{"cifar10", Shape{3, 32, 32}, "colour"}, {"stl10", colour, "colour"}, {"imagenet10", colour, "colour"},
		{"folder", colour, "colour"}, {"folder", grey, "geometric"},
	} {
		p, err := PresetFor(tc.name, tc.s)
		if err != nil || p.Name != tc.want || p.Fill != -1 {
			t.Errorf("PresetFor(%s, %v) = %v, %v; want %s with fill -1", tc.name, tc.s, p, err, tc.want)
		}
	}
	mn, _ := PresetFor("mnist", grey)
	fm, _ := PresetFor("fashion-mnist", grey)
	flips := func(p Pipeline) bool {
		return slices.ContainsFunc(p.Ops, func(o Op) bool { _, ok := o.(HFlip); return ok })
	}
	strokes := slices.ContainsFunc(mn.Ops, func(o Op) bool { _, ok := o.(StrokeWidth); return ok })
	if flips(mn) || !flips(fm) || !strokes {
		t.Errorf("digits must not be flipped but get stroke widths, clothes may be flipped: %v / %v", mn, fm)
	}
	if c32 := ColourPipeline(Shape{3, 32, 32}); slices.ContainsFunc(c32.Ops, func(o Op) bool { _, ok := o.(GaussianBlur); return ok }) {
		t.Error("blur in the 32-px colour preset")
	}
	if _, err := PresetFor("mystery", grey); err == nil {
		t.Error("unknown preset accepted")
	}
	var none *Augmenter
	if none.Views() != 0 {
		t.Error("nil Augmenter has views")
	}
}

// TestAugmentGridPNG renders originals and their augmented views as a
// contact sheet a person can look at: embedded MNIST digits with T1..T5 and
// the MNIST preset, and synthetic colour images with the colour preset. Set
// VKGRAD_AUGMENT_PNG_DIR to keep the pictures.
func TestAugmentGridPNG(t *testing.T) {
	dir := os.Getenv("VKGRAD_AUGMENT_PNG_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	d, err := LoadMNIST(LoadOptions{Split: SplitTest, Pad: 2})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	s := d.Shape()
	src := make([]float32, n*s.Len())
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i * 7
	}
	d.Batch(idx, src, nil)
	mn, _ := PresetFor("mnist", s)
	a := NewAugmenter(append(ReleasedViews(), mn)...)
	views := make([][]float32, a.Views())
	for v := range views {
		views[v] = make([]float32, n*s.Len())
	}
	a.Make(views, src, s, n, 2024)
	sheet := slices.Concat(append([][]float32{src}, views...)...)
	path := filepath.Join(dir, "augment_mnist.png")
	if err := SaveGridPNG(path, sheet, s, GridOptions{Cols: n, Pad: 2, Scale: 2}); err != nil {
		t.Fatal(err)
	}
	t.Logf("rows: original, T1..T5, mnist preset -> %s", path)

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	wantW, wantH := n*64+(n+1)*2, 7*64+8*2
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Fatalf("grid is %v, want %dx%d", b, wantW, wantH)
	}
	// The tile of original 0 at scale 2: pixel (y, x) of the digit.
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			r, _, _, _ := img.At(2+2*x+1, 2+2*y).RGBA()
			if want := d.Raw(0)[y*32+x]; uint8(r>>8) != want {
				t.Fatalf("grid pixel (%d,%d) = %d, want %d", x, y, r>>8, want)
			}
		}
	}

	// Colour: gradients with a disc, through the colour preset.
	cs := Shape{3, 64, 64}
	const m = 6
	csrc := make([]float32, m*cs.Len())
	for i := 0; i < m; i++ {
		for y := 0; y < 64; y++ {
			for x := 0; x < 64; x++ {
				p := y*64 + x
				in := (x-32)*(x-32)+(y-32)*(y-32) < 15*15
				r, g, b := float32(x)/32-1, float32(y)/32-1, float32(i)/3-1
				if in {
					r, g, b = 1, float32(i%2)*2-1, -1
				}
				base := i * cs.Len()
				csrc[base+p], csrc[base+4096+p], csrc[base+8192+p] = r, g, b
			}
		}
	}
	ca := NewAugmenter(ColourPipeline(cs), ColourPipeline(cs), ColourPipeline(cs))
	cviews := [][]float32{make([]float32, len(csrc)), make([]float32, len(csrc)), make([]float32, len(csrc))}
	ca.Make(cviews, csrc, cs, m, 7)
	cpath := filepath.Join(dir, "augment_colour.png")
	if err := SaveGridPNG(cpath, slices.Concat(csrc, cviews[0], cviews[1], cviews[2]), cs, GridOptions{Cols: m, Pad: 2}); err != nil {
		t.Fatal(err)
	}
	t.Logf("rows: original, three colour-preset views -> %s", cpath)

	if err := SaveGridPNG(filepath.Join(dir, "bad.png"), src[:10], s, GridOptions{}); err == nil {
		t.Error("partial image accepted")
	}
	if err := SaveGridPNG(filepath.Join(dir, "missing", "x.png"), src, s, GridOptions{}); err == nil {
		t.Error("write into a missing folder succeeded")
	}
}

func benchAugment(b *testing.B, s Shape, n int, pipes []Pipeline) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]float32, n*s.Len())
	for k := range src {
		src[k] = float32(rng.Float64()*2 - 1)
	}
	a := NewAugmenter(pipes...)
	views := make([][]float32, a.Views())
	for v := range views {
		views[v] = make([]float32, n*s.Len())
	}
	b.ResetTimer()
	seed := uint64(0)
	for b.Loop() {
		a.Make(views, src, s, n, seed)
		seed++
	}
	b.ReportMetric(float64(b.N*n*a.Views())/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkAugment reports augmented images (views) produced per second on
// all cores for the presets at their datasets' sizes, batch 100.
func BenchmarkAugment(b *testing.B) {
	for _, tc := range []struct {
		name  string
		s     Shape
		pipes []Pipeline
	}{
		{"released-T1..T5/1x32x32", Shape{1, 32, 32}, ReleasedViews()},
		{"mnist/1x32x32", Shape{1, 32, 32}, []Pipeline{GeometricPipeline(false)}},
		{"coil20/1x128x128", Shape{1, 128, 128}, []Pipeline{GeometricPipeline(true)}},
		{"cifar10/3x32x32", Shape{3, 32, 32}, []Pipeline{ColourPipeline(Shape{3, 32, 32})}},
		{"stl10/3x96x96", Shape{3, 96, 96}, []Pipeline{ColourPipeline(Shape{3, 96, 96})}},
	} {
		b.Run(tc.name, func(b *testing.B) { benchAugment(b, tc.s, 100, tc.pipes) })
	}
}

func ExampleReleasedViews() {
	for _, v := range ReleasedViews() {
		fmt.Println(v)
	}
	// Output:
	// T1[affine(rotate -10..10°); nearest, fill -1]
	// T2[hflip(p=1); nearest, fill -1]
	// T3[affine(translate ±0·W ±0.1·H); nearest, fill -1]
	// T4[affine(scale 0.9..1.1); nearest, fill -1]
	// T5[affine(shear-x -10..5°); nearest, fill -1]
}

// TestStrokeWidth checks that dilation widens a one-pixel vertical stroke
// to three pixels and erosion removes it, and that both happen.
func TestStrokeWidth(t *testing.T) {
	s := Shape{1, 7, 7}
	line := make([]float32, s.Len())
	for i := range line {
		line[i] = -1
	}
	for y := 0; y < s.H; y++ {
		line[y*s.W+3] = 1
	}
	ink := func(img []float32) int {
		n := 0
		for _, v := range img {
			if v > 0 {
				n++
			}
		}
		return n
	}
	seen := map[int]bool{}
	ctx := &OpContext{Rand: rand.New(rand.NewPCG(1, 2))}
	for range 40 {
		img := slices.Clone(line)
		StrokeWidth{}.Apply(img, s, ctx)
		n := ink(img)
		if n != 0 && n != 3*s.H {
			t.Fatalf("stroke of %d ink pixels after one step, want 0 (eroded) or %d (dilated)", n, 3*s.H)
		}
		seen[n] = true
	}
	if !seen[0] || !seen[3*s.H] {
		t.Errorf("40 draws gave only %v; want both erosion and dilation", seen)
	}
	// P = 0.5 leaves some images unchanged.
	unchanged := 0
	for range 40 {
		img := slices.Clone(line)
		StrokeWidth{P: 0.5}.Apply(img, s, ctx)
		if slices.Equal(img, line) {
			unchanged++
		}
	}
	if unchanged == 0 || unchanged == 40 {
		t.Errorf("P=0.5 left %d of 40 images unchanged", unchanged)
	}
}
