package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vkgrad/vkgrad/icbpc"
)

// The files of a results folder.
const (
	ConfigFile      = "config.json"
	MetricsFile     = "metrics.csv"
	AssignmentsFile = "assignments.csv"
	LossPlot        = "loss.png"
	ScoresPlot      = "scores.png"
	ConfusionPlot   = "confusion.png"
	LatentPlot      = "latent.png"
	SpherePlot      = "sphere.png"
	CheckpointDir   = "checkpoints"
)

// runFiles are the entries a run writes at the top of its folder.
var runFiles = []string{ConfigFile, MetricsFile, AssignmentsFile, LossPlot, ScoresPlot, ConfusionPlot, LatentPlot, SpherePlot, CheckpointDir}

// CheckOut checks, without changing anything, that out can take the run:
// a folder that holds another run (a config.json, metrics or checkpoints)
// is refused unless resume (continue it) or force (start over) is set,
// and with resume it must hold a run. PrepareOut then creates or clears
// it, once everything else has been checked, so that a usage error never
// costs an earlier run its files.
func CheckOut(out string, resume, force bool) error {
	if out == "" {
		return Usagef("no results folder given (-out)")
	}
	st, err := os.Stat(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if resume {
			return Usagef("cannot resume: %s does not exist (give the folder of the interrupted run with -out)", out)
		}
		return nil
	case err != nil:
		return Usagef("results folder: %v", err)
	case !st.IsDir():
		return Usagef("results folder %s is a file, not a folder; choose another -out", out)
	}
	held := HoldsRun(out)
	switch {
	case resume && !held:
		return Usagef("cannot resume: %s holds no run (no %s); drop -resume to start one there", out, ConfigFile)
	case held && !resume && !force:
		return Usagef("%s already holds a run; continue it with -resume, start over with -force, or choose another -out", out)
	}
	return nil
}

// PrepareOut creates out, or with force removes the files of the run it
// holds (other files are left alone), and checks that it is writable.
func PrepareOut(out string, force bool) error {
	if force && HoldsRun(out) {
		for _, f := range runFiles {
			if err := os.RemoveAll(filepath.Join(out, f)); err != nil {
				return fmt.Errorf("-force: cannot clear the old run: %w", err)
			}
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return Usagef("cannot create the results folder: %v", err)
	}
	f, err := os.CreateTemp(out, ".probe-*")
	if err != nil {
		return Usagef("cannot write to the results folder %s: %v", out, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// HoldsRun reports whether dir holds a run's config, metrics or
// checkpoints.
func HoldsRun(dir string) bool {
	for _, f := range []string{ConfigFile, MetricsFile, CheckpointDir} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

func checkpointName(step int64) string { return fmt.Sprintf("step-%08d.safetensors", step) }

// checkpointStep parses a checkpoint file name.
func checkpointStep(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, "step-")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".safetensors")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

func sameStep(path string, step int64) bool {
	n, ok := checkpointStep(filepath.Base(path))
	return ok && n == step
}

func sidecar(ckpt string) string { return strings.TrimSuffix(ckpt, ".safetensors") + ".json" }

// Checkpoints lists the checkpoint files of a results folder, oldest
// (lowest step) first.
func Checkpoints(out string) ([]string, error) {
	dir := filepath.Join(out, CheckpointDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	type ck struct {
		step int64
		path string
	}
	var cks []ck
	for _, e := range ents {
		if n, ok := checkpointStep(e.Name()); ok && e.Type().IsRegular() {
			cks = append(cks, ck{n, filepath.Join(dir, e.Name())})
		}
	}
	slices.SortFunc(cks, func(a, b ck) int { return int(a.step - b.step) })
	paths := make([]string, len(cks))
	for i, c := range cks {
		paths[i] = c.path
	}
	return paths, nil
}

// LatestCheckpoint returns the newest checkpoint of a results folder, or
// "" when there is none.
func LatestCheckpoint(out string) (string, error) {
	cks, err := Checkpoints(out)
	if err != nil || len(cks) == 0 {
		return "", err
	}
	return cks[len(cks)-1], nil
}

// PruneCheckpoints removes all but the newest keep checkpoints (keep <= 0
// keeps all).
func PruneCheckpoints(out string, keep int) error {
	if keep <= 0 {
		return nil
	}
	cks, err := Checkpoints(out)
	if err != nil {
		return err
	}
	for len(cks) > keep {
		if err := os.Remove(cks[0]); err != nil {
			return fmt.Errorf("prune checkpoints: %w", err)
		}
		os.Remove(sidecar(cks[0]))
		cks = cks[1:]
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadConfig reads a config.json (or any JSON run configuration) over
// base: fields the file does not name keep base's values. Unknown fields
// are errors (they are usually typos).
func ReadConfig(path string, base icbpc.RunConfig) (icbpc.RunConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return base, Usagef("config file: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&base); err != nil {
		return base, Usagef("config file %s: %v", path, err)
	}
	return base, nil
}
