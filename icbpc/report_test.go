package icbpc_test

import (
	"encoding/csv"
	"errors"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/icbpc"
)

func sampleRecords() []icbpc.EpochRecord {
	return []icbpc.EpochRecord{
		{Epoch: 1, Step: 10, Steps: 10, Loss: 1.0 / 3, MMD: 0.25, Contrastive: 0.1, HasScores: true,
			Scores: icbpc.Scores{N: 30, ACC: 0.5, NMI: 0.4, NMIGeometric: 0.41, ARI: 0.3, AMI: 0.35}, Seconds: 1.5, EvalSeconds: 0.2, ImagesPerSec: 66.7},
		{Epoch: 2, Step: 20, Steps: 10, Loss: math.Pi / 10, MMD: 0.2, Contrastive: 0.05, L1: 1e-9, HasScores: true,
			Scores: icbpc.Scores{N: 30, ACC: 0.7, NMI: 0.6, NMIGeometric: 0.61, ARI: 0.5, AMI: 0.55}, Seconds: 1.4},
		{Epoch: 3, Step: 30, Steps: 10, Loss: 0.2, MMD: 0.1, Seconds: 1.3},
	}
}

func TestMetricsCSVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.csv")
	recs := sampleRecords()
	if err := icbpc.WriteMetricsCSV(path, recs); err != nil {
		t.Fatal(err)
	}
	back, err := icbpc.ReadMetricsCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, recs) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, recs)
	}
	// The score columns of an unlabelled epoch are empty.
	f, _ := os.Open(path)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 4 || rows[3][7] != "" || rows[1][7] != "0.5" {
		t.Errorf("rows %v (%v)", rows, err)
	}
	if got := icbpc.BestEpoch(recs); got != 1 {
		t.Errorf("BestEpoch = %d, want 1", got)
	}
	if got := icbpc.BestEpoch(recs[2:]); got != -1 {
		t.Errorf("BestEpoch without scores = %d, want -1", got)
	}
	for _, bad := range []string{"", "a,b\n1,2\n", strings.Join([]string{"epoch", "step", "steps", "loss", "mmd", "contrastive", "l1", "acc", "nmi", "nmi_geometric", "ari", "ami", "n", "seconds", "eval_seconds", "images_per_s"}, ",") + "\nx,1,1,1,1,1,1,,,,,,,1,1,1\n"} {
		p := filepath.Join(t.TempDir(), "bad.csv")
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := icbpc.ReadMetricsCSV(p); err == nil {
			t.Errorf("ReadMetricsCSV(%q): no error", bad)
		}
	}
}

// TestWriteFileAtomicKeepsOldContent checks that a failed write (such as a
// full disk) leaves the previous file and no temporary files behind.
func TestWriteFileAtomicKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := icbpc.WriteJSONFile(path, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	errDiskFull := errors.New("no space left on device")
	err := icbpc.WriteFileAtomic(path, func(w io.Writer) error {
		w.Write([]byte("{\"partial"))
		return errDiskFull
	})
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v should wrap the cause and name the file", err)
	}
	now, _ := os.ReadFile(path)
	if string(now) != string(old) {
		t.Errorf("old content lost: %q", now)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	// A folder that does not exist fails cleanly.
	if err := icbpc.WriteFileAtomic(filepath.Join(dir, "missing", "x"), func(io.Writer) error { return nil }); err == nil {
		t.Error("write into a missing folder: no error")
	}
}

func TestWriteAssignmentsCSV(t *testing.T) {
	d := &icbpc.Dataset{Name: "t", Classes: 2, C: 1, H: 1, W: 1, Pixels: []uint8{1, 2, 3}, Labels: []int{0, 1, 1},
		Paths: []string{"a.png", "b,c.png", "d.png"}}
	path := filepath.Join(t.TempDir(), "assignments.csv")
	if err := icbpc.WriteAssignmentsCSV(path, d, []int{1, 0, 0}, true); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	want := [][]string{{"index", "cluster", "label", "path"}, {"0", "1", "0", "a.png"}, {"1", "0", "1", "b,c.png"}, {"2", "0", "1", "d.png"}}
	if err != nil || !reflect.DeepEqual(rows, want) {
		t.Errorf("rows %v (%v), want %v", rows, err, want)
	}
	d.Paths = nil
	if err := icbpc.WriteAssignmentsCSV(path, d, []int{1, 0, 0}, false); err != nil {
		t.Fatal(err)
	}
	f, _ = os.Open(path)
	rows, _ = csv.NewReader(f).ReadAll()
	f.Close()
	if len(rows[0]) != 3 || rows[1][2] != "" {
		t.Errorf("unlabelled rows %v", rows)
	}
	if err := icbpc.WriteAssignmentsCSV(path, d, []int{1}, false); err == nil {
		t.Error("wrong assignment count: no error")
	}
}

func TestPCA(t *testing.T) {
	// Points spread along u (std 3) and v (std 1) plus noise in 5-D.
	const dim, n = 5, 400
	u := []float64{1, 1, 0, 0, 0}
	v := []float64{0, 0, 1, -1, 0}
	for i := range u {
		u[i] /= math.Sqrt2
		v[i] /= math.Sqrt2
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		a, b := 3*rng.NormFloat64(), rng.NormFloat64()
		for j := 0; j < dim; j++ {
			x[i*dim+j] = float32(a*u[j] + b*v[j] + 0.01*rng.NormFloat64() + 7)
		}
	}
	proj, axes, mean := PCAChecked(t, x, dim)
	dot := func(a []float64, b []float64) float64 {
		s := 0.0
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	if d := math.Abs(dot(axes[:dim], u)); d < 0.999 {
		t.Errorf("first axis %v not along u (|cos| %v)", axes[:dim], d)
	}
	if d := math.Abs(dot(axes[dim:], v)); d < 0.99 {
		t.Errorf("second axis %v not along v (|cos| %v)", axes[dim:], d)
	}
	if math.Abs(mean[0]-7) > 0.5 {
		t.Errorf("mean %v", mean)
	}
	var v1, v2 float64
	for i := 0; i < n; i++ {
		v1 += proj[2*i] * proj[2*i]
		v2 += proj[2*i+1] * proj[2*i+1]
	}
	if v1/v2 < 5 {
		t.Errorf("variance along PC1 %v not well above PC2 %v", v1/n, v2/n)
	}
}

func PCAChecked(t *testing.T, x []float32, dim int) (proj, axes, mean []float64) {
	t.Helper()
	proj, axes, mean = icbpc.PCA(x, dim, 2)
	for _, v := range append(append([]float64{}, proj...), axes...) {
		if math.IsNaN(v) {
			t.Fatal("NaN in PCA output")
		}
	}
	return proj, axes, mean
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 200 {
		t.Errorf("%s: %v is too small", path, b)
	}
}

func TestPlots(t *testing.T) {
	dir := t.TempDir()
	recs := sampleRecords()
	if err := icbpc.PlotLosses(filepath.Join(dir, "loss.png"), recs); err != nil {
		t.Fatal(err)
	}
	if err := icbpc.PlotScores(filepath.Join(dir, "scores.png"), recs); err != nil {
		t.Fatal(err)
	}
	if err := icbpc.PlotScores(filepath.Join(dir, "none.png"), recs[2:]); err == nil {
		t.Error("scores plot without scores: no error")
	}
	if err := icbpc.PlotLosses(filepath.Join(dir, "none.png"), nil); err == nil {
		t.Error("loss plot without epochs: no error")
	}
	conf, err := icbpc.NewConfusion([]int{0, 0, 1, 1, 2, 2, 2}, []int{2, 2, 0, 1, 1, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := icbpc.PlotConfusion(filepath.Join(dir, "confusion.png"), conf, []string{"zero", "one", "two"}); err != nil {
		t.Fatal(err)
	}
	for _, dim := range []int{3, 8} {
		cent, err := icbpc.NewPEDCC(4, dim, icbpc.PEDCCOptions{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		n := 200
		feats := make([]float32, n*dim)
		assign := make([]int, n)
		for i := 0; i < n; i++ {
			c := i % 4
			assign[i] = c
			var norm float64
			row := feats[i*dim : (i+1)*dim]
			for j := range row {
				row[j] = float32(cent.Row(c)[j] + 0.1*rng.NormFloat64())
				norm += float64(row[j] * row[j])
			}
			for j := range row {
				row[j] /= float32(math.Sqrt(norm))
			}
		}
		pca := filepath.Join(dir, "latent.png")
		if err := icbpc.PlotLatentPCA(pca, feats, dim, assign, 4, cent); err != nil {
			t.Fatal(err)
		}
		checkPNG(t, pca)
		if dim == 3 {
			if err := icbpc.PlotSphere(filepath.Join(dir, "sphere.png"), feats, assign, 4, cent); err != nil {
				t.Fatal(err)
			}
		} else if err := icbpc.PlotSphere(filepath.Join(dir, "bad.png"), feats, assign, 4, cent); err == nil {
			t.Error("sphere plot of d=8 features: no error")
		}
	}
	// Non-finite features (a diverged encoder) are left out, not an error.
	feats := []float32{1, 0, 0, float32(math.NaN()), 0, 1, 0, 0, 1, float32(math.Inf(1)), 0, 0}
	if err := icbpc.PlotLatentPCA(filepath.Join(dir, "nan.png"), feats, 3, []int{0, 1, 2, 0}, 3, nil); err != nil {
		t.Errorf("PCA plot with NaN features: %v", err)
	}
	if err := icbpc.PlotSphere(filepath.Join(dir, "nansphere.png"), feats, []int{0, 1, 2, 0}, 3, nil); err != nil {
		t.Errorf("sphere plot with NaN features: %v", err)
	}
	for _, name := range []string{"loss.png", "scores.png", "confusion.png", "sphere.png", "nan.png", "nansphere.png"} {
		checkPNG(t, filepath.Join(dir, name))
	}
	if _, err := os.Stat(filepath.Join(dir, "none.png")); err == nil {
		t.Error("a failed plot left a file")
	}
}
