package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The binaries built once by TestMain: this command and cmd/train (for a
// trained checkpoint).
var clusterBin, trainBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vkgrad-cluster-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	clusterBin, trainBin = filepath.Join(dir, "cluster"), filepath.Join(dir, "train")
	for _, b := range [][2]string{{clusterBin, "."}, {trainBin, "../train"}} {
		if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", b[1], err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// writeImages writes per images of each of three shapes, either in class
// subfolders or flat, as RGB PNGs and JPEGs of a few different sizes (the
// loader resizes them).
func writeImages(t *testing.T, dir string, per int, subfolders bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 3))
	for c, name := range []string{"square", "hbar", "vbar"} {
		cd := dir
		if subfolders {
			cd = filepath.Join(dir, name)
		}
		if err := os.MkdirAll(cd, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < per; i++ {
			size := 16 + 4*(i%3)
			img := image.NewRGBA(image.Rect(0, 0, size+2*(i%2), size))
			for p := range img.Pix {
				img.Pix[p] = 20
			}
			ox, oy := rng.IntN(3), rng.IntN(3)
			w, h := size/2, size/2
			switch c {
			case 1:
				w, h = size-4, 3
			case 2:
				w, h = 3, size-4
			}
			col := color.RGBA{uint8(200 + 20*c), uint8(100 * c), 60, 255}
			for y := oy + 1; y < min(oy+1+h, size); y++ {
				for x := ox + 1; x < min(ox+1+w, size); x++ {
					img.Set(x, y, col)
				}
			}
			f, err := os.Create(filepath.Join(cd, fmt.Sprintf("%s-%02d.png", name, i)))
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

func runBin(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), so.String(), se.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, so.String(), se.String()
}

func readRows(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// checkOutput checks assignments.csv, the contact sheets and summary.json.
func checkOutput(t *testing.T, out string, n, k int, labelled bool) summary {
	t.Helper()
	rows := readRows(t, filepath.Join(out, "assignments.csv"))
	head := "path,cluster"
	if labelled {
		head += ",label"
	}
	if len(rows) != n+1 || strings.Join(rows[0], ",") != head {
		t.Fatalf("assignments: %d rows, header %v", len(rows), rows[0])
	}
	for _, r := range rows[1:] {
		if _, err := os.Stat(r[0]); err != nil {
			t.Errorf("path %q: %v", r[0], err)
		}
	}
	var sm summary
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sm); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range sm.Sizes {
		total += s
	}
	if sm.K != k || sm.Images != n || total != n || len(sm.Sheets) == 0 || sm.Labelled != labelled || (sm.Scores != nil) != labelled {
		t.Errorf("summary %+v", sm)
	}
	for _, s := range sm.Sheets {
		f, err := os.Open(filepath.Join(out, s))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(f); err != nil {
			t.Errorf("%s: %v", s, err)
		}
		f.Close()
	}
	return sm
}

var tiny = []string{"-backend", "cpu", "-size", "12", "-width", "0.125", "-dim", "4", "-batch", "10", "-epochs", "1"}

// TestFromScratchFlat clusters a flat folder of mixed-size images.
func TestFromScratchFlat(t *testing.T) {
	dir := t.TempDir()
	imgs := filepath.Join(dir, "imgs")
	writeImages(t, imgs, 10, false)
	out := filepath.Join(dir, "out")
	code, so, se := runBin(t, clusterBin, append([]string{"-images", imgs, "-k", "3", "-out", out}, tiny...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, so, se)
	}
	checkOutput(t, out, 30, 3, false)
	if !strings.Contains(so, "cluster sizes") || strings.Contains(so, "ACC") {
		t.Errorf("stdout:\n%s", so)
	}
	// The training results are there too.
	for _, f := range []string{"config.json", "metrics.csv", "loss.png", "latent.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// Running again into the same folder is refused.
	if code, _, se := runBin(t, clusterBin, append([]string{imgs, "-k", "3", "-out", out}, tiny...)...); code != 2 || !strings.Contains(se, "-force") {
		t.Errorf("second run: exit %d, %q", code, se)
	}
}

// TestLabelledAndCheckpoint trains with cmd/train on a labelled folder,
// then clusters the folder with the checkpoint, and from scratch with
// scores against the subfolders.
func TestLabelledAndCheckpoint(t *testing.T) {
	dir := t.TempDir()
	imgs := filepath.Join(dir, "imgs")
	writeImages(t, imgs, 10, true)
	run := filepath.Join(dir, "run")
	code, so, se := runBin(t, trainBin, "-backend", "cpu", "-dataset", "folder", "-data", imgs, "-size", "12", "-k", "3",
		"-width", "0.125", "-dim", "4", "-batch", "10", "-epochs", "1", "-quiet", "-out", run)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, so, se)
	}
	out := filepath.Join(dir, "ck")
	code, so, se = runBin(t, clusterBin, "-images", imgs, "-checkpoint", run, "-out", out, "-backend", "cpu")
	if code != 0 {
		t.Fatalf("cluster with checkpoint: exit %d\n%s\n%s", code, so, se)
	}
	sm := checkOutput(t, out, 30, 3, true)
	if sm.Scores.N != 30 || !strings.Contains(so, "ACC") {
		t.Errorf("scores %+v\n%s", sm.Scores, so)
	}
	// The evaluation of the same images agrees with the training run's.
	trainRows := readRows(t, filepath.Join(run, "assignments.csv"))
	ckRows := readRows(t, filepath.Join(out, "assignments.csv"))
	for i := 1; i < len(ckRows); i++ {
		if ckRows[i][1] != trainRows[i][1] || ckRows[i][0] != trainRows[i][3] {
			t.Fatalf("row %d: cluster %v with the checkpoint, %v in training", i, ckRows[i], trainRows[i])
		}
	}
	// The checkpoint file itself works as well; -flat drops the labels.
	ck, _ := filepath.Glob(filepath.Join(run, "checkpoints", "*.safetensors"))
	out2 := filepath.Join(dir, "ck2")
	if code, so, se := runBin(t, clusterBin, "-images", imgs, "-checkpoint", ck[0], "-flat", "-out", out2, "-quiet", "-backend", "cpu"); code != 0 {
		t.Fatalf("checkpoint file: exit %d\n%s\n%s", code, so, se)
	}
	checkOutput(t, out2, 30, 3, false)
	// From scratch on the labelled folder: k from the subfolders.
	out3 := filepath.Join(dir, "scratch")
	if code, so, se := runBin(t, clusterBin, append([]string{"-images", imgs, "-out", out3, "-json"}, tiny...)...); code != 0 ||
		!strings.Contains(so, `"event":"clusters"`) {
		t.Fatalf("from scratch, labelled: exit %d\n%s\n%s", code, so, se)
	}
	checkOutput(t, out3, 30, 3, true)
	// k must fit the checkpoint and the subfolders.
	for _, args := range [][]string{
		{"-images", imgs, "-checkpoint", run, "-k", "4", "-out", filepath.Join(dir, "x")},
		{"-images", imgs, "-k", "5", "-out", filepath.Join(dir, "x")},
		{"-images", imgs, "-checkpoint", run, "-epochs", "3", "-out", filepath.Join(dir, "x")},
	} {
		if code, _, se := runBin(t, clusterBin, args...); code != 2 || strings.Count(strings.TrimSpace(se), "\n") != 0 {
			t.Errorf("%v: exit %d, %q", args, code, se)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a refused run created its -out folder")
	}
}

// TestUsageErrors: bad command lines exit 2 with one line.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	flat := filepath.Join(dir, "flat")
	writeImages(t, flat, 2, false)
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "no image folder"},
		{[]string{"-bogus"}, "not defined: -bogus"},
		{[]string{"-images", filepath.Join(dir, "nope"), "-k", "2"}, "does not exist"},
		{[]string{"-images", flat}, "-k"},
		{[]string{"-images", empty, "-k", "2", "-out", filepath.Join(dir, "o")}, "no PNG"},
		{[]string{"-images", flat, "-checkpoint", filepath.Join(dir, "nope")}, "does not exist"},
		{[]string{"-images", flat, "-checkpoint", empty}, "holds no checkpoint"},
		{[]string{"a", "b"}, "unexpected argument"},
	}
	for _, tc := range cases {
		var so, se bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		code := run(ctx, tc.args, &so, &se)
		cancel()
		if code != 2 || !strings.Contains(se.String(), tc.want) || strings.Count(strings.TrimSpace(se.String()), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with %q", tc.args, code, se.String(), tc.want)
		}
	}
	var so bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &so, &so); code != 0 || !strings.Contains(so.String(), "-checkpoint") {
		t.Errorf("-h: exit %d\n%s", code, so.String())
	}
}
