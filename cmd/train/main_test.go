package main

import (
	"bufio"
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
	"syscall"
	"testing"
	"time"

	"github.com/vkgrad/vkgrad/cmd/internal/runner"
	"github.com/vkgrad/vkgrad/icbpc"
	"github.com/vkgrad/vkgrad/nn"
	"github.com/vkgrad/vkgrad/tensor"
)

// binary is the cmd/train executable built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vkgrad-train-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "train")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if shapesDir != "" {
		os.RemoveAll(shapesDir)
	}
	os.Exit(code)
}

// writeShapes writes an ImageFolder of three classes of simple shapes
// (a square, a horizontal and a vertical bar at jittered positions) with
// per images each, size x size grey.
func writeShapes(t *testing.T, dir string, per, size int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	for c, name := range []string{"square", "hbar", "vbar"} {
		cd := filepath.Join(dir, name)
		if err := os.MkdirAll(cd, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < per; i++ {
			img := image.NewGray(image.Rect(0, 0, size, size))
			ox, oy := rng.IntN(3), rng.IntN(3)
			w, h := size/2, size/2
			switch c {
			case 1:
				w, h = size-4, 2
			case 2:
				w, h = 2, size-4
			}
			for y := oy + 1; y < min(oy+1+h, size); y++ {
				for x := ox + 1; x < min(ox+1+w, size); x++ {
					img.SetGray(x, y, color.Gray{Y: 230})
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

// shapesData returns a generated data folder shared by the tests.
var shapesDir string

func shapes(t *testing.T) string {
	t.Helper()
	if shapesDir == "" {
		dir, err := os.MkdirTemp("", "vkgrad-shapes-")
		if err != nil {
			t.Fatal(err)
		}
		writeShapes(t, dir, 20, 12)
		shapesDir = dir
	}
	return shapesDir
}

// tinyArgs is a one-epoch run on the shapes with a tiny encoder.
func tinyArgs(t *testing.T, out string, extra ...string) []string {
	args := []string{"-backend", "cpu", "-dataset", "folder", "-data", shapes(t), "-size", "12", "-k", "3",
		"-width", "0.125", "-dim", "3", "-batch", "12", "-epochs", "1", "-out", out}
	return append(args, extra...)
}

type result struct {
	code           int
	stdout, stderr string
}

func runBinary(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, so.String(), se.String()}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func decodePNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

// TestEndToEnd trains one epoch on generated shapes and checks every file
// of the results folder.
func TestEndToEnd(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	r := runBinary(t, tinyArgs(t, out)...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"epoch 1/1", "result (last epoch 1): ACC", "results in " + out} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	// config.json reproduces the run.
	var cfg icbpc.RunConfig
	b, err := os.ReadFile(filepath.Join(out, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Data.Dataset != "folder" || cfg.Data.Classes != 3 || cfg.Train.LatentDim != 3 || cfg.Input == nil || *cfg.Input != (icbpc.Shape{C: 1, H: 12, W: 12}) {
		t.Errorf("config %+v", cfg)
	}
	recs, err := icbpc.ReadMetricsCSV(filepath.Join(out, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Epoch != 1 || recs[0].Steps != 5 || !recs[0].HasScores || recs[0].Scores.N != 60 || !(recs[0].Loss > 0) {
		t.Errorf("metrics %+v", recs)
	}
	rows := readCSV(t, filepath.Join(out, "assignments.csv"))
	if len(rows) != 61 || strings.Join(rows[0], ",") != "index,cluster,label,path" {
		t.Errorf("assignments: %d rows, header %v", len(rows), rows[0])
	}
	for _, row := range rows[1:] {
		if c := row[1]; c != "0" && c != "1" && c != "2" {
			t.Errorf("cluster %q out of range", c)
		}
	}
	for _, p := range []string{"loss.png", "scores.png", "confusion.png", "latent.png", "sphere.png"} {
		decodePNG(t, filepath.Join(out, p))
	}
	// The checkpoint loads into the configured encoder.
	cks, err := runner.Checkpoints(out)
	if err != nil || len(cks) != 1 || filepath.Base(cks[0]) != "step-00000005.safetensors" {
		t.Fatalf("checkpoints %v (%v)", cks, err)
	}
	be, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := icbpc.NewEncoder(be, rand.New(rand.NewPCG(9, 9)), cfg.Train.Encoder, *cfg.Input, cfg.Train.LatentDim, cfg.Train.Width)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := nn.LoadCheckpoint(cks[0], enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Epoch != 1 || meta.Step != 5 {
		t.Errorf("checkpoint meta %+v", meta)
	}

	// The folder now holds a run: a new run there is refused, and nothing
	// of the old one changes.
	before, _ := os.ReadFile(filepath.Join(out, "metrics.csv"))
	r = runBinary(t, tinyArgs(t, out)...)
	if r.code != 2 || !strings.Contains(r.stderr, "already holds a run") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("second run into the same folder: exit %d, stderr %q", r.code, r.stderr)
	}
	after, _ := os.ReadFile(filepath.Join(out, "metrics.csv"))
	if !bytes.Equal(before, after) {
		t.Error("the refused run changed metrics.csv")
	}
	// -force starts over; -json prints parseable events.
	r = runBinary(t, tinyArgs(t, out, "-force", "-json", "-dim", "4", "-keep", "0")...)
	if r.code != 0 {
		t.Fatalf("-force: exit %d: %s", r.code, r.stderr)
	}
	events := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var ev struct {
			Event string `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		events[ev.Event]++
	}
	if events["start"] != 1 || events["step"] != 5 || events["epoch"] != 1 || events["checkpoint"] != 1 || events["done"] != 1 {
		t.Errorf("events %v", events)
	}
	if _, err := os.Stat(filepath.Join(out, "sphere.png")); err == nil {
		t.Error("-force left the old run's sphere.png (d is 4 now)")
	}
}

// metricsColumns are the columns that must not depend on timing.
func deterministic(t *testing.T, out string) string {
	t.Helper()
	recs, err := icbpc.ReadMetricsCSV(filepath.Join(out, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "%d %d %d %v %v %v %v %+v\n", r.Epoch, r.Step, r.Steps, r.Loss, r.MMD, r.Contrastive, r.L1, r.Scores)
	}
	a, err := os.ReadFile(filepath.Join(out, "assignments.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return b.String() + string(a)
}

func lastCheckpoint(t *testing.T, out string) []byte {
	t.Helper()
	ck, err := runner.LatestCheckpoint(out)
	if err != nil || ck == "" {
		t.Fatalf("no checkpoint in %s (%v)", out, err)
	}
	b, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResumeIdentical: one epoch, then -resume to two, equals two epochs
// in one go (metrics, assignments and the final checkpoint, byte for byte).
func TestResumeIdentical(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if r := runBinary(t, tinyArgs(t, a, "-epochs", "2", "-quiet")...); r.code != 0 {
		t.Fatalf("uninterrupted: exit %d: %s", r.code, r.stderr)
	}
	if r := runBinary(t, tinyArgs(t, b, "-epochs", "1", "-quiet")...); r.code != 0 {
		t.Fatalf("first epoch: exit %d: %s", r.code, r.stderr)
	}
	r := runBinary(t, "-resume", "-out", b, "-epochs", "2", "-backend", "cpu")
	if r.code != 0 || !strings.Contains(r.stdout, "resumed at epoch 1") {
		t.Fatalf("resume: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if da, db := deterministic(t, a), deterministic(t, b); da != db {
		t.Errorf("resumed run differs:\n%s\nvs\n%s", da, db)
	}
	if !bytes.Equal(lastCheckpoint(t, a), lastCheckpoint(t, b)) {
		t.Error("final checkpoints differ")
	}
	// Resuming a run with a changed setting is refused.
	r = runBinary(t, "-resume", "-out", b, "-lambda", "3")
	if r.code != 2 || !strings.Contains(r.stderr, "-lambda") {
		t.Errorf("resume with -lambda: exit %d, %q", r.code, r.stderr)
	}
}

// TestInterrupt sends SIGINT to a running training, checks the clean exit
// with a mid-run checkpoint, and that -resume then ends exactly where an
// uninterrupted run ends.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	full, cut := filepath.Join(dir, "full"), filepath.Join(dir, "cut")
	extra := []string{"-epochs", "3", "-batch", "6", "-width", "0.25", "-keep", "0"}
	if r := runBinary(t, tinyArgs(t, full, append(extra, "-quiet")...)...); r.code != 0 {
		t.Fatalf("uninterrupted: exit %d: %s", r.code, r.stderr)
	}
	cmd := exec.Command(binary, tinyArgs(t, cut, append(extra, "-json")...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var interrupted struct {
		Checkpoint string `json:"checkpoint"`
		Step       int64  `json:"step"`
	}
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		if !signalled && strings.Contains(line, `"event":"step"`) {
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			signalled = true
		}
		if strings.Contains(line, `"event":"interrupted"`) {
			if err := json.Unmarshal([]byte(line), &interrupted); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != runner.ExitInterrupted {
		t.Fatalf("interrupted run: %v (want exit %d)\n%s", err, runner.ExitInterrupted, stderr.String())
	}
	if interrupted.Checkpoint == "" || interrupted.Step < 1 || interrupted.Step >= 30 {
		t.Fatalf("interrupted event %+v", interrupted)
	}
	if _, err := os.Stat(interrupted.Checkpoint); err != nil {
		t.Fatalf("checkpoint of the interrupt: %v", err)
	}
	if !strings.Contains(stderr.String(), "finishing the current step") {
		t.Errorf("stderr %q", stderr.String())
	}
	r := runBinary(t, "-resume", "-out", cut, "-quiet")
	if r.code != 0 {
		t.Fatalf("resume after interrupt: exit %d: %s", r.code, r.stderr)
	}
	if df, dc := deterministic(t, full), deterministic(t, cut); df != dc {
		t.Errorf("interrupted and resumed run (interrupted at step %d) differs:\n%s\nvs\n%s", interrupted.Step, df, dc)
	}
	if !bytes.Equal(lastCheckpoint(t, full), lastCheckpoint(t, cut)) {
		t.Error("final checkpoints differ")
	}
}

// TestNaNLossKeepsCheckpoint: a learning rate that blows the weights up
// stops the run with exit 1 and leaves the last good checkpoint.
func TestNaNLossKeepsCheckpoint(t *testing.T) {
	out := filepath.Join(t.TempDir(), "nan")
	r := runBinary(t, tinyArgs(t, out, "-lr", "1e38", "-steps", "1", "-epochs", "3")...)
	if r.code != 1 || !strings.Contains(r.stderr, "not finite") || !strings.Contains(r.stderr, "intact") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
		t.Errorf("error is %d lines: %q", n+1, r.stderr)
	}
	cks, err := runner.Checkpoints(out)
	if err != nil || len(cks) == 0 {
		t.Fatalf("no checkpoint left: %v", err)
	}
	if !strings.Contains(r.stderr, cks[len(cks)-1]) {
		t.Errorf("the error does not name the checkpoint %s: %q", cks[len(cks)-1], r.stderr)
	}
}

// TestUsageErrors runs the program in-process on bad command lines: each
// must exit 2 with one line naming the problem, before writing anything.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	held := filepath.Join(dir, "held")
	os.MkdirAll(held, 0o755)
	os.WriteFile(filepath.Join(held, "config.json"), []byte("{}"), 0o644)
	badCfg := filepath.Join(dir, "bad.json")
	os.WriteFile(badCfg, []byte(`{"train": {"lamda": 3}}`), 0o644)
	fresh := filepath.Join(dir, "fresh")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-bogus"}, "flag provided but not defined: -bogus"},
		{"unknown preset", []string{"-preset", "paper-svhn"}, "unknown preset"},
		{"positional", []string{"mnist"}, "unexpected argument"},
		{"missing data folder", []string{"-dataset", "cifar10", "-data", filepath.Join(dir, "nope"), "-out", fresh}, "does not exist"},
		{"dataset needs a folder", []string{"-dataset", "coil20", "-out", fresh}, "needs its files"},
		{"classes vs k", tinyArgs(t, fresh, "-k", "5"), "3 classes but k = 5"},
		{"out holds a run", tinyArgs(t, held), "already holds a run"},
		{"resume nothing", []string{"-resume", "-out", fresh}, "does not exist"},
		{"bad distance", []string{"-mmd-distance", "manhattan"}, "unknown distance"},
		{"bad losses", []string{"-losses", "all"}, "want both, mmd or contrastive"},
		{"bad backend", tinyArgs(t, fresh, "-backend", "tpu"), "unknown backend"},
		{"bad config", []string{"-config", badCfg}, "unknown field"},
		{"quiet and json", []string{"-quiet", "-json"}, "exclude each other"},
		{"chain pairs with one view", []string{"-preset", "code", "-augment", "geometric", "-views", "1"}, "needs exactly 5"},
		{"negative epochs", []string{"-epochs", "-1"}, "-epochs must be >= 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var so, se bytes.Buffer
			// A usage error stops before training; the deadline only
			// bounds a test that would wrongly start one.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			code := run(ctx, tc.args, &so, &se)
			msg := se.String()
			if code != 2 || !strings.Contains(msg, tc.want) || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line with %q", code, msg, tc.want)
			}
			if _, err := os.Stat(fresh); err == nil {
				t.Errorf("the failed run created %s", fresh)
			}
		})
	}
	var so bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &so, &so); code != 0 || !strings.Contains(so.String(), "-mmd-distance") ||
		!strings.Contains(so.String(), "paper-coil20") || !strings.Contains(so.String(), "130") {
		t.Errorf("-h: exit %d\n%s", code, so.String())
	}
	if b, _ := os.ReadFile(filepath.Join(held, "config.json")); string(b) != "{}" {
		t.Error("a refused run changed the existing run's config.json")
	}
}

// TestAblation runs the four Table 6 columns with a tiny budget.
func TestAblation(t *testing.T) {
	out := filepath.Join(t.TempDir(), "abl")
	r := runBinary(t, tinyArgs(t, out, "-ablation", "-quiet", "-steps", "2")...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"Table 6 ablation on folder", "MMD only", "MMD+con cosine"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	rows := readCSV(t, filepath.Join(out, "ablation.csv"))
	if len(rows) != 5 {
		t.Fatalf("ablation.csv has %d rows", len(rows))
	}
	for i, row := range rows[1:] {
		if row[0] != icbpc.Table6Columns[i].Name || row[4] != "1" {
			t.Errorf("row %v", row)
		}
		if _, err := os.Stat(filepath.Join(row[10], "metrics.csv")); err != nil {
			t.Errorf("column %d: %v", i, err)
		}
	}
	r = runBinary(t, tinyArgs(t, out, "-ablation", "-quiet", "-steps", "2")...)
	if r.code != 2 {
		t.Errorf("second ablation into the same folder: exit %d", r.code)
	}
	// With the paper's numbers: the table shows them.
	var so bytes.Buffer
	printAblation(&runner.Reporter{Mode: runner.Human, Stdout: &so}, icbpc.RunConfig{Data: icbpc.DataConfig{Dataset: "mnist"}},
		[]ablationRow{{col: icbpc.Table6Columns[1], paper: [2]float64{.994, .985}}}, true, out)
	if !strings.Contains(so.String(), "0.994 / 0.985") {
		t.Errorf("table:\n%s", so.String())
	}
}
