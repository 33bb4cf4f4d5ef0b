package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/vkgrad/vkgrad/cmd/internal/runner"
	"github.com/vkgrad/vkgrad/icbpc"
	"github.com/vkgrad/vkgrad/nn"
	"github.com/vkgrad/vkgrad/tensor"
)

// run is the whole program: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, fs, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout, fs)
		return runner.ExitOK
	}
	mode := runner.Human
	if o != nil && o.quiet {
		mode = runner.Quiet
	} else if o != nil && o.json {
		mode = runner.JSONLines
	}
	rep := runner.NewReporter(mode, stdout, stderr)
	if err == nil {
		if o.checkpoint != "" {
			err = withCheckpoint(o, rep)
		} else {
			err = fromScratch(ctx, o, rep)
		}
	}
	if err != nil && !errors.Is(err, runner.ErrInterrupted) {
		rep.Error("cluster", err)
	}
	return runner.ExitCode(err)
}

// hasClassFolders reports whether dir holds non-hidden subfolders (an
// ImageFolder tree whose folder names are labels).
func hasClassFolders(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.IsDir() && e.Name()[0] != '.' {
			return true
		}
	}
	return false
}

// loadImages loads the folder: labelled when it has class subfolders (and
// not -flat), with k checked against them; unlabelled otherwise.
func loadImages(o *options, opt icbpc.LoadOptions, k int) (d *icbpc.Dataset, labelled bool, err error) {
	if st, err := os.Stat(o.images); err != nil || !st.IsDir() {
		return nil, false, runner.Usagef("image folder %s does not exist or is not a folder (-images)", o.images)
	}
	opt.Dir = o.images
	opt.Split = icbpc.SplitAll
	if !o.flat && hasClassFolders(o.images) {
		d, err := icbpc.LoadImageFolder(opt)
		if err != nil {
			return nil, false, runner.Usage(err)
		}
		if k != 0 && d.Classes != k {
			return nil, false, runner.Usagef("%s has %d class subfolders but k = %d; use -k %d, or -flat to ignore the subfolders",
				o.images, d.Classes, k, d.Classes)
		}
		return d, true, nil
	}
	if k == 0 {
		return nil, false, runner.Usagef("%s has no class subfolders: give the number of clusters with -k", o.images)
	}
	d, err = icbpc.LoadUnlabelled(opt, k)
	if err != nil {
		return nil, false, runner.Usage(err)
	}
	return d, false, nil
}

// checkOut refuses an -out folder with earlier results unless -force or
// -resume.
func checkOut(o *options, out string) error {
	if err := runner.CheckOut(out, o.resume, o.force); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(out, runner.AssignmentsFile)); err == nil && !o.force && !o.resume {
		return runner.Usagef("%s already holds cluster results; use -force to overwrite them or choose another -out", out)
	}
	return nil
}

func defaultOut() string {
	return filepath.Join("runs", "cluster-"+time.Now().Format("20060102-150405"))
}

// fromScratch trains an encoder on the folder and clusters it.
func fromScratch(ctx context.Context, o *options, rep *runner.Reporter) error {
	out := o.out
	if out == "" {
		if o.resume {
			return runner.Usagef("-resume needs the folder of the interrupted run (-out)")
		}
		out = defaultOut()
	}
	if err := checkOut(o, out); err != nil {
		return err
	}
	var cfg icbpc.RunConfig
	if o.resume {
		saved, err := runner.ReadConfig(filepath.Join(out, runner.ConfigFile), icbpc.RunConfig{})
		if err != nil {
			return err
		}
		cfg = saved
		if o.explicit["epochs"] {
			cfg.Train.Epochs = o.epochs
		}
	} else {
		q, err := icbpc.Preset("quick")
		if err != nil {
			return err
		}
		cfg = q
		cfg.Preset = "cluster"
		cfg.Data = icbpc.DataConfig{Dataset: "folder", Dir: o.images, TrainSplit: icbpc.SplitAll, TestSplit: icbpc.SplitAll,
			Size: o.size, Channels: o.channels, CenterCrop: o.centerCrop, Classes: o.k}
		cfg.Augment, cfg.Views, cfg.Backend = o.augment, o.views, o.backend
		t := &cfg.Train
		t.Encoder, t.Width, t.LatentDim, t.Epochs, t.BatchSize = o.encoder, o.width, o.dim, o.epochs, o.batch
		t.StepsPerEpoch, t.Seed, t.LR, t.Loss.Lambda = o.steps, o.seed, float32(o.lr), float32(o.lambda)
		t.EvalBatch = 0
	}
	if o.explicit["backend"] {
		cfg.Backend = o.backend
	}
	opt := cfg.Data.LoadOptions(icbpc.SplitAll)
	d, labelled, err := loadImages(o, opt, cfg.Data.Classes)
	if err != nil {
		return err
	}
	if !o.resume {
		if o.flat {
			cfg.Data.Dataset = "folder-unlabelled"
		}
		if d.Len() < 2 {
			return runner.Usagef("%s holds %d image; clustering needs at least 2", o.images, d.Len())
		}
		cfg.Train.BatchSize = min(cfg.Train.BatchSize, d.Len())
		if d.Classes > cfg.Train.LatentDim+1 {
			cfg.Train.LatentDim = d.Classes - 1
		}
		if cfg.Augment == "auto" {
			cfg.Augment = "geometric-flip"
			if d.C == 3 {
				cfg.Augment = "colour"
			}
		}
		if err := cfg.Validate(); err != nil {
			return runner.Usage(err)
		}
	}
	b, notice, err := runner.OpenBackend(cfg.Backend)
	if err != nil {
		return err
	}
	if notice != "" {
		rep.Notice("%s", notice)
	}
	s, err := runner.NewSession(cfg, b, d, d, labelled, out, o.keep, rep)
	if err != nil {
		return err
	}
	if o.resume {
		if _, err := s.Resume(); err != nil {
			return err
		}
	} else if err := runner.PrepareOut(out, o.force); err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	if err := s.Run(ctx); err != nil {
		return err
	}
	ev := s.LastEvaluation()
	if ev == nil {
		var err error
		if ev, err = s.Trainer.Evaluate(d, true); err != nil {
			return err
		}
	}
	return writeClusters(rep, out, d, labelled, ev, s.Trainer.Centroids, o.sheet)
}

// runFolder finds the run folder and checkpoint file of -checkpoint.
func runFolder(path string) (dir, ckpt string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", "", runner.Usagef("checkpoint %s does not exist (-checkpoint takes a cmd/train results folder or a checkpoint file)", path)
	}
	if st.IsDir() {
		ck, err := runner.LatestCheckpoint(path)
		if err != nil {
			return "", "", err
		}
		if ck == "" {
			return "", "", runner.Usagef("%s holds no checkpoint (checkpoints/step-*.safetensors); is it a cmd/train results folder?", path)
		}
		return path, ck, nil
	}
	dir = filepath.Dir(path)
	if filepath.Base(dir) == runner.CheckpointDir {
		dir = filepath.Dir(dir)
	}
	return dir, path, nil
}

// withCheckpoint clusters the folder with a trained encoder.
func withCheckpoint(o *options, rep *runner.Reporter) error {
	dir, ckpt, err := runFolder(o.checkpoint)
	if err != nil {
		return err
	}
	cfgPath := o.config
	if cfgPath == "" {
		cfgPath = filepath.Join(dir, runner.ConfigFile)
	}
	cfg, err := runner.ReadConfig(cfgPath, icbpc.RunConfig{})
	if err != nil {
		return err
	}
	if cfg.Input == nil || cfg.Data.Classes == 0 {
		return runner.Usagef("%s does not record the input shape and k of the run (written by an older cmd/train?)", cfgPath)
	}
	k := cfg.Data.Classes
	if o.k != 0 && o.k != k {
		return runner.Usagef("the checkpoint was trained for k = %d clusters, not %d; drop -k or train a new model", k, o.k)
	}
	out := o.out
	if out == "" {
		out = defaultOut()
	}
	if err := checkOut(o, out); err != nil {
		return err
	}
	in := *cfg.Input
	opt := icbpc.LoadOptions{Size: in.H - 2*cfg.Data.Pad, Channels: in.C, Pad: cfg.Data.Pad, CenterCrop: o.centerCrop}
	d, labelled, err := loadImages(o, opt, k)
	if err != nil {
		return err
	}
	if labelled && d.Classes != k {
		return runner.Usagef("%s has %d class subfolders but the checkpoint has k = %d; use -flat to ignore the subfolders", o.images, d.Classes, k)
	}
	d.Classes = k
	spec := cfg.Backend
	if o.explicit["backend"] {
		spec = o.backend
	}
	b, notice, err := runner.OpenBackend(spec)
	if err != nil {
		return err
	}
	if notice != "" {
		rep.Notice("%s", notice)
	}
	model, err := icbpc.NewEncoder(b, rand.New(rand.NewPCG(0, 0)), cfg.Train.Encoder, d.Shape(), cfg.Train.LatentDim, cfg.Train.Width)
	if err != nil {
		return runner.Usage(err)
	}
	if _, err := nn.LoadCheckpoint(ckpt, model, nil); err != nil {
		return runner.Usagef("checkpoint %s does not fit its config %s: %v", ckpt, cfgPath, runner.OneLine(err))
	}
	cent, err := icbpc.RunCentroids(cfg.Train, k)
	if err != nil {
		return err
	}
	if err := runner.PrepareOut(out, o.force); err != nil {
		return err
	}
	rep.Printf("clustering %d images of %s into k=%d with %s (%s, d=%d) on %s", d.Len(), o.images, k, ckpt,
		cfg.Train.Encoder, cfg.Train.LatentDim, runner.Describe(b))
	batch := cfg.Train.EvalBatch
	if batch <= 0 {
		batch = cfg.Train.BatchSize
	}
	ct := tensor.FromSlice(b, cent.Float32(), cent.Classes, cent.Dim)
	ev, err := icbpc.EvaluateEncoder(model, ct, d, batch, cfg.Train.EvalBatchStats, true)
	if err != nil {
		return err
	}
	return writeClusters(rep, out, d, labelled, ev, cent, o.sheet)
}

// printSummary prints the cluster sizes and, with labels, the scores.
func printSummary(rep *runner.Reporter, out string, sizes []int, labelled bool, sc icbpc.Scores) {
	rep.Printf("cluster sizes: %v", sizes)
	if labelled {
		if rep.Mode == runner.Quiet {
			fmt.Fprintf(rep.Stdout, "ACC %.4f NMI %.4f ARI %.4f\n", sc.ACC, sc.NMI, sc.ARI)
		} else {
			rep.Printf("against the folder labels: ACC %.4f NMI %.4f ARI %.4f", sc.ACC, sc.NMI, sc.ARI)
		}
	}
	if rep.Mode == runner.Quiet {
		fmt.Fprintf(rep.Stdout, "results in %s\n", out)
	} else {
		rep.Printf("assignments and contact sheets in %s", out)
	}
}
