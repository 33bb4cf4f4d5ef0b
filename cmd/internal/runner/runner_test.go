package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/icbpc"
	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"
	_ "github.com/vkgrad/vkgrad/tensor/vulkan" // auto must rank lavapipe below the CPU backend
)

func TestExitCode(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitFailure},
		{Usagef("bad %s", "flag"), ExitUsage},
		{fmt.Errorf("wrapped: %w", Usagef("x")), ExitUsage},
		{fmt.Errorf("stop: %w", ErrInterrupted), ExitInterrupted},
		{Usage(nil), ExitOK},
	}
	for _, tc := range cases {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if got := OneLine(errors.New("a\n  b\tc")); got != "a b c" {
		t.Errorf("OneLine = %q", got)
	}
}

func TestCheckOutAndPrepare(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh")
	if err := CheckOut(fresh, false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Fatal("CheckOut created the folder")
	}
	if err := CheckOut(fresh, true, false); ExitCode(err) != ExitUsage {
		t.Errorf("resume of a missing folder: %v", err)
	}
	if err := PrepareOut(fresh, false); err != nil {
		t.Fatal(err)
	}
	if err := CheckOut(fresh, true, false); ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "holds no run") {
		t.Errorf("resume of an empty folder: %v", err)
	}
	// A folder with a run: refused, resumable, or cleared with force
	// (foreign files are kept).
	os.WriteFile(filepath.Join(fresh, ConfigFile), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(fresh, MetricsFile), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(fresh, CheckpointDir), 0o755)
	os.WriteFile(filepath.Join(fresh, "notes.txt"), []byte("mine"), 0o644)
	if err := CheckOut(fresh, false, false); ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "-resume") {
		t.Errorf("folder with a run: %v", err)
	}
	if err := CheckOut(fresh, true, false); err != nil {
		t.Errorf("resume: %v", err)
	}
	if err := CheckOut(fresh, false, true); err != nil {
		t.Errorf("force: %v", err)
	}
	if err := PrepareOut(fresh, true); err != nil {
		t.Fatal(err)
	}
	if HoldsRun(fresh) {
		t.Error("force left the old run")
	}
	if b, _ := os.ReadFile(filepath.Join(fresh, "notes.txt")); string(b) != "mine" {
		t.Error("force removed a file that is not the run's")
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if err := CheckOut(file, false, false); ExitCode(err) != ExitUsage {
		t.Errorf("out is a file: %v", err)
	}
	if err := CheckOut("", false, false); ExitCode(err) != ExitUsage {
		t.Errorf("empty out: %v", err)
	}
}

func TestCheckpointRotation(t *testing.T) {
	out := t.TempDir()
	dir := filepath.Join(out, CheckpointDir)
	os.MkdirAll(dir, 0o755)
	for _, s := range []int64{5, 120, 10, 0} {
		p := filepath.Join(dir, checkpointName(s))
		os.WriteFile(p, nil, 0o644)
		os.WriteFile(sidecar(p), nil, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "step-x.safetensors"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, ".step-00000200.safetensors.tmp-1"), nil, 0o644)
	latest, err := LatestCheckpoint(out)
	if err != nil || filepath.Base(latest) != "step-00000120.safetensors" {
		t.Fatalf("latest %q (%v)", latest, err)
	}
	if err := PruneCheckpoints(out, 2); err != nil {
		t.Fatal(err)
	}
	cks, _ := Checkpoints(out)
	if len(cks) != 2 || filepath.Base(cks[0]) != "step-00000010.safetensors" {
		t.Errorf("after pruning: %v", cks)
	}
	if _, err := os.Stat(filepath.Join(dir, "step-00000005.json")); err == nil {
		t.Error("the pruned checkpoint's sidecar is left")
	}
	if err := PruneCheckpoints(out, 0); err != nil {
		t.Fatal(err)
	}
	if cks, _ := Checkpoints(out); len(cks) != 2 {
		t.Errorf("keep 0 removed checkpoints: %v", cks)
	}
	if !sameStep(cks[1], 120) || sameStep(cks[1], 12) {
		t.Error("sameStep")
	}
	if cks, err := Checkpoints(t.TempDir()); err != nil || cks != nil {
		t.Errorf("no checkpoint folder: %v %v", cks, err)
	}
}

func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	base, err := icbpc.Preset("quick")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "c.json")
	os.WriteFile(p, []byte(`{"train": {"epochs": 7, "loss": {"mmd_distance": "cosine"}}}`), 0o644)
	c, err := ReadConfig(p, base)
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.Epochs != 7 || c.Train.Loss.MMDDistance != icbpc.Cosine || c.Train.LatentDim != base.Train.LatentDim || c.Data != base.Data {
		t.Errorf("merged config %+v", c)
	}
	for _, bad := range []string{`{"train": {"epoch": 7}}`, `{"train": {"loss": {"mmd_distance": "l1"}}}`, `not json`} {
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := ReadConfig(p, base); ExitCode(err) != ExitUsage {
			t.Errorf("ReadConfig(%s) = %v", bad, err)
		}
	}
	if _, err := ReadConfig(filepath.Join(dir, "none.json"), base); ExitCode(err) != ExitUsage {
		t.Errorf("missing file: %v", err)
	}
}

func TestOpenBackend(t *testing.T) {
	b, _, err := OpenBackend("cpu")
	if err != nil || b.Name() != "cpu" {
		t.Fatalf("cpu: %v", err)
	}
	if _, _, err := OpenBackend("tpu:0"); ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "tpu") {
		t.Errorf("unknown backend: %v", err)
	}
	t.Setenv(tensor.EnvBackend, "")
	b, notice, err := OpenBackend("auto")
	if err != nil {
		t.Fatal(err)
	}
	if b.Caps().HostEmulated {
		t.Errorf("auto chose %s, a device emulated on the host, over the CPU backend", Describe(b))
	}
	if b.Name() == "cpu" && notice == "" {
		t.Error("auto fell back to the CPU backend without a notice")
	}
}

func TestReporterModes(t *testing.T) {
	recs := []icbpc.EpochRecord{
		{Epoch: 1, Steps: 2, Loss: 1, HasScores: true, Scores: icbpc.Scores{ACC: 0.9, NMI: 0.8}},
		{Epoch: 2, Steps: 2, Loss: 0.5, HasScores: true, Scores: icbpc.Scores{ACC: 0.7, NMI: 0.6}},
	}
	var so, se bytes.Buffer
	r := NewReporter(Human, &so, &se)
	r.EndEpoch(recs[1], 2)
	r.Done(recs, "out")
	got := so.String()
	for _, want := range []string{"epoch 2/2", "result (last epoch 2): ACC 0.7000", "best epoch 1: ACC 0.9000", "test labels"} {
		if !strings.Contains(got, want) {
			t.Errorf("human output lacks %q:\n%s", want, got)
		}
	}
	se.Reset()
	r.Interrupted("ck", "out", 1, 104, 60)
	if !strings.Contains(se.String(), "written in epoch 2 at step 44 of 60; continue with -resume -out out") {
		t.Errorf("interrupt message %q", se.String())
	}
	se.Reset()
	r.Interrupted("ck", "out", 2, 120, 60)
	if !strings.Contains(se.String(), "written after epoch 2;") {
		t.Errorf("interrupt message %q", se.String())
	}
	so.Reset()
	r = NewReporter(Quiet, &so, &se)
	r.EndEpoch(recs[1], 2)
	r.Printf("hidden")
	r.Done(recs, "out")
	if strings.Count(so.String(), "\n") != 1 || !strings.Contains(so.String(), "ACC 0.7000") {
		t.Errorf("quiet output:\n%s", so.String())
	}
	so.Reset()
	r = NewReporter(JSONLines, &so, &se)
	r.Step(2, icbpc.StepInfo{Epoch: 0, Step: 3, StepInEpoch: 1, StepsInEpoch: 2, Images: 10, Loss: 0.25}, icbpc.EpochStats{Loss: 0.3}, 50)
	r.EndEpoch(recs[1], 2)
	r.Done(recs, "out")
	r.Error("train", Usagef("bad"))
	var events []string
	for _, line := range strings.Split(strings.TrimSpace(so.String()), "\n") {
		var ev struct {
			Event string  `json:"event"`
			Loss  float64 `json:"loss"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		events = append(events, ev.Event)
	}
	if strings.Join(events, ",") != "step,epoch,done,error" {
		t.Errorf("events %v", events)
	}
	if !strings.Contains(se.String(), "train: bad") {
		t.Errorf("stderr %q", se.String())
	}
}

// tinySession builds a session on a generated 3-class set of 8x8 images.
func tinySession(t *testing.T, out string, epochs int) *Session {
	t.Helper()
	d := &icbpc.Dataset{Name: "tiny", Classes: 3, C: 1, H: 8, W: 8}
	for i := 0; i < 24; i++ {
		c := i % 3
		img := make([]uint8, 64)
		for p := range img {
			if (p/8+p%8+i)%(c+2) == 0 {
				img[p] = 200
			}
		}
		d.Pixels = append(d.Pixels, img...)
		d.Labels = append(d.Labels, c)
	}
	cfg, err := icbpc.Preset("quick")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Augment = "geometric"
	cfg.Train.Width, cfg.Train.LatentDim, cfg.Train.BatchSize, cfg.Train.Epochs, cfg.Train.StepsPerEpoch = 0.125, 3, 6, epochs, 2
	b, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	var so bytes.Buffer
	s, err := NewSession(cfg, b, d, d, true, out, 0, NewReporter(Quiet, &so, &so))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWriteFailure makes the second epoch's checkpoint unwritable (its
// name is taken by a folder, which stops root too, like a full disk
// would): the run fails with exit code 1, says what is intact and how to
// continue, keeps the first checkpoint, and -resume then finishes with the
// results of an uninterrupted run.
func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref")
	os.MkdirAll(ref, 0o755)
	s := tinySession(t, ref, 3)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	block := filepath.Join(out, CheckpointDir, checkpointName(4))
	if err := os.MkdirAll(filepath.Join(block, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	s = tinySession(t, out, 3)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	err := s.Run(context.Background())
	if ExitCode(err) != ExitFailure || !strings.Contains(err.Error(), "step-00000002.safetensors are intact") ||
		!strings.Contains(err.Error(), "-resume -out "+out) {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(sidecar(block)); err == nil {
		t.Error("a sidecar was left for the failed checkpoint")
	}
	os.RemoveAll(block)
	s = tinySession(t, out, 3)
	if ok, err := s.Resume(); !ok || err != nil {
		t.Fatalf("resume: %v %v", ok, err)
	}
	if s.Trainer.Epoch != 1 || len(s.Records) != 1 {
		t.Fatalf("resumed at epoch %d with %d records", s.Trainer.Epoch, len(s.Records))
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, _ := icbpc.ReadMetricsCSV(filepath.Join(ref, MetricsFile))
	b, _ := icbpc.ReadMetricsCSV(filepath.Join(out, MetricsFile))
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("%d and %d epochs", len(a), len(b))
	}
	for i := range a {
		if a[i].Loss != b[i].Loss || a[i].Scores != b[i].Scores {
			t.Errorf("epoch %d: %+v vs %+v", i+1, a[i], b[i])
		}
	}
}
