package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vkgrad/vkgrad/icbpc"
	"github.com/vkgrad/vkgrad/nn"
	"github.com/vkgrad/vkgrad/tensor"
)

// Session is one training run and its results folder.
type Session struct {
	Config  icbpc.RunConfig
	Out     string
	Keep    int // checkpoints kept (0: all)
	Backend tensor.Backend
	Train   *icbpc.Dataset
	Test    *icbpc.Dataset
	// Labelled says whether Test's labels are real (false for a flat
	// folder of the user's images): without labels no scores are reported.
	Labelled bool
	Trainer  *icbpc.Trainer
	Report   *Reporter
	Records  []icbpc.EpochRecord
	// Resumed is set by Resume when a checkpoint was loaded.
	Resumed bool
	// AugmentText describes the augmentation for the start line.
	AugmentText string

	partial   partialEpoch
	lastCkpt  string
	lastEval  *icbpc.Evaluation
	epochTime time.Duration
}

// partialEpoch accumulates an epoch's step losses; it is saved next to a
// mid-epoch checkpoint so that a resumed epoch reports the same means as
// an uninterrupted one (the sums continue in the same order).
type partialEpoch struct {
	Epoch          int     `json:"epoch"`
	Step           int64   `json:"step"`
	Steps          int     `json:"steps"`
	Loss           float64 `json:"loss_sum"`
	MMD            float64 `json:"mmd_sum"`
	Contrastive    float64 `json:"contrastive_sum"`
	L1             float64 `json:"l1_sum"`
	Seconds        float64 `json:"seconds"`
	CheckpointFile string  `json:"checkpoint"`
}

// NewSession builds the trainer for cfg on b with the given data. The
// results folder must have been checked (CheckOut) by the caller.
func NewSession(cfg icbpc.RunConfig, b tensor.Backend, train, test *icbpc.Dataset, labelled bool, out string, keep int, rep *Reporter) (*Session, error) {
	vm, err := cfg.NewViewMaker(train.Shape())
	if err != nil {
		return nil, Usage(err)
	}
	t, err := icbpc.NewTrainer(cfg.Train, b, train, vm)
	if err != nil {
		return nil, Usage(err)
	}
	if cfg.Backbone != "" {
		if err := t.Model.LoadBackbone(cfg.Backbone); err != nil {
			return nil, Usagef("backbone %s: %v", cfg.Backbone, OneLine(err))
		}
	}
	s := &Session{Config: cfg, Out: out, Keep: keep, Backend: b, Train: train, Test: test, Labelled: labelled,
		Trainer: t, Report: rep, AugmentText: "none"}
	if a, ok := vm.(*icbpc.Augmenter); ok && a != nil {
		s.AugmentText = fmt.Sprintf("%s, %d view(s)", cfg.Augment, a.Views())
	}
	return s, nil
}

// Resume loads the newest checkpoint of the results folder, its partial
// epoch sums and the metrics of the epochs before it. It returns false
// when there is no checkpoint (the run then starts from scratch).
func (s *Session) Resume() (bool, error) {
	ck, err := LatestCheckpoint(s.Out)
	if err != nil || ck == "" {
		return false, err
	}
	if err := s.Trainer.Load(ck); err != nil {
		return false, fmt.Errorf("resume from %s: %w", ck, err)
	}
	t := s.Trainer
	s.partial = partialEpoch{Epoch: t.Epoch, Step: t.Step}
	var p partialEpoch
	if err := readJSON(sidecar(ck), &p); err == nil && p.Epoch == t.Epoch && p.Step == t.Step {
		s.partial = p
	}
	recs, err := icbpc.ReadMetricsCSV(filepath.Join(s.Out, MetricsFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("resume: %w", err)
	}
	for _, r := range recs {
		if r.Epoch <= t.Epoch {
			s.Records = append(s.Records, r)
		}
	}
	if len(s.Records) != t.Epoch {
		return false, fmt.Errorf("resume: %s holds %d epochs but checkpoint %s is at epoch %d; the folder is inconsistent, start a new run with -force",
			MetricsFile, len(s.Records), ck, t.Epoch)
	}
	s.lastCkpt = ck
	s.Resumed = true
	return true, nil
}

// Start writes config.json (with the number of clusters and the input
// shape resolved) and announces the run.
func (s *Session) Start() error {
	shape := s.Train.Shape()
	s.Config.Data.Classes, s.Config.Input = s.Train.Classes, &shape
	if err := icbpc.WriteJSONFile(filepath.Join(s.Out, ConfigFile), s.Config); err != nil {
		return err
	}
	s.Report.Start(StartInfo{
		Out: s.Out, Backend: Describe(s.Backend), Config: s.Config,
		TrainImages: s.Train.Len(), TestImages: s.Test.Len(), Shape: s.Train.Shape().String(), Classes: s.Train.Classes,
		Params: nn.CountParams(s.Trainer.Model), Resumed: s.Resumed, Epoch: s.Trainer.Epoch, Step: s.Trainer.Step,
		Augment: s.AugmentText,
	})
	return nil
}

// Run trains until Config.Train.Epochs epochs are complete. After every
// epoch it evaluates, writes the results and a checkpoint. When ctx is
// cancelled it finishes the step in progress, writes a checkpoint and
// returns ErrInterrupted. A non-finite loss stops the run with an error
// and leaves the last good checkpoint in place.
func (s *Session) Run(ctx context.Context) error {
	t := s.Trainer
	epochs := s.Config.Train.Epochs
	for t.Epoch < epochs {
		if err := ctx.Err(); err != nil {
			return s.interrupt()
		}
		spe := t.StepsPerEpoch()
		done := int(t.Step - int64(t.Epoch)*int64(spe))
		s.Report.StartEpoch(t.Epoch+1, epochs, spe, done, s.Config.Train.BatchSize)
		start := time.Now()
		p := &s.partial
		if p.Epoch != t.Epoch {
			*p = partialEpoch{Epoch: t.Epoch, Step: t.Step}
		}
		secBefore := p.Seconds
		_, err := t.RunEpoch(ctx, func(info icbpc.StepInfo) {
			p.Steps++
			p.Loss += info.Loss
			p.MMD += info.MMD
			p.Contrastive += info.Contrastive
			p.L1 += info.L1
			p.Step = int64(info.Step) + 1
			el := time.Since(start).Seconds()
			p.Seconds = secBefore + el
			n := float64(p.Steps)
			mean := icbpc.EpochStats{Loss: p.Loss / n, MMD: p.MMD / n, Contrastive: p.Contrastive / n, L1: p.L1 / n}
			ips := 0.0
			if p.Seconds > 0 {
				ips = float64(p.Steps*s.Config.Train.BatchSize) / p.Seconds
			}
			s.Report.Step(epochs, info, mean, ips)
		})
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return s.interrupt()
		case errors.Is(err, icbpc.ErrNaNLoss):
			where := "no checkpoint was written yet"
			if s.lastCkpt != "" {
				where = "the last good checkpoint " + s.lastCkpt + " is intact"
			}
			return fmt.Errorf("training stopped: %w; %s (lower the learning rate with -lr, or change the loss settings)", err, where)
		case err != nil:
			return fmt.Errorf("training: %w", err)
		}
		if err := s.finishEpoch(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return s.interrupt()
	}
	if len(s.Records) == 0 {
		// Nothing was trained (0 epochs): still evaluate the encoder.
		if err := s.evaluate(); err != nil {
			return err
		}
	}
	s.Report.Done(s.Records, s.Out)
	return nil
}

// interrupt writes a checkpoint at the current step and returns
// ErrInterrupted.
func (s *Session) interrupt() error {
	t := s.Trainer
	ck := s.lastCkpt
	if ck == "" || !sameStep(ck, t.Step) {
		var err error
		if ck, err = s.checkpoint(); err != nil {
			return fmt.Errorf("interrupted, but the checkpoint could not be written: %w", err)
		}
	}
	s.Report.Interrupted(ck, s.Out, t.Epoch, t.Step, t.StepsPerEpoch())
	return ErrInterrupted
}

// finishEpoch evaluates after a completed epoch and writes the results and
// a checkpoint.
func (s *Session) finishEpoch() error {
	p := s.partial
	rec := icbpc.EpochRecord{Epoch: s.Trainer.Epoch, Step: s.Trainer.Step, Steps: p.Steps, Seconds: p.Seconds}
	if p.Steps > 0 {
		n := float64(p.Steps)
		rec.Loss, rec.MMD, rec.Contrastive, rec.L1 = p.Loss/n, p.MMD/n, p.Contrastive/n, p.L1/n
	}
	if p.Seconds > 0 {
		rec.ImagesPerSec = float64(p.Steps*s.Config.Train.BatchSize) / p.Seconds
	}
	s.partial = partialEpoch{Epoch: s.Trainer.Epoch, Step: s.Trainer.Step}
	t0 := time.Now()
	ev, err := s.Trainer.Evaluate(s.Test, true)
	if err != nil {
		return err
	}
	rec.EvalSeconds = time.Since(t0).Seconds()
	if s.Labelled {
		rec.HasScores, rec.Scores = true, ev.Scores
	}
	s.Records = append(s.Records, rec)
	s.lastEval = ev
	// Results first, then the checkpoint: a crash in between leaves a
	// metrics row that a resume from the previous checkpoint recomputes.
	if err := s.writeResults(ev); err != nil {
		return s.writeFailed(err)
	}
	if _, err := s.checkpoint(); err != nil {
		return s.writeFailed(err)
	}
	s.Report.EndEpoch(rec, s.Config.Train.Epochs)
	return nil
}

// writeFailed explains a failed write (a full disk, a removed folder):
// the files written before are whole, and the run can continue.
func (s *Session) writeFailed(err error) error {
	hint := "no checkpoint was written yet; free space and start again"
	if s.lastCkpt != "" {
		hint = fmt.Sprintf("earlier results and the checkpoint %s are intact; free space and continue with -resume -out %s", s.lastCkpt, s.Out)
	}
	return fmt.Errorf("%w (%s)", err, hint)
}

// evaluate evaluates without training (a run of 0 epochs).
func (s *Session) evaluate() error {
	t0 := time.Now()
	ev, err := s.Trainer.Evaluate(s.Test, true)
	if err != nil {
		return err
	}
	rec := icbpc.EpochRecord{Epoch: s.Trainer.Epoch, Step: s.Trainer.Step, EvalSeconds: time.Since(t0).Seconds()}
	if s.Labelled {
		rec.HasScores, rec.Scores = true, ev.Scores
	}
	s.Records = append(s.Records, rec)
	s.lastEval = ev
	return s.writeResults(ev)
}

// LastEvaluation is the evaluation after the last completed epoch (nil
// before the first).
func (s *Session) LastEvaluation() *icbpc.Evaluation { return s.lastEval }

// checkpoint writes the trainer's state and the partial epoch sums, and
// prunes old checkpoints.
func (s *Session) checkpoint() (string, error) {
	t := s.Trainer
	dir := filepath.Join(s.Out, CheckpointDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	path := filepath.Join(dir, checkpointName(t.Step))
	p := s.partial
	p.CheckpointFile = filepath.Base(path)
	// The sidecar first: a checkpoint without one resumes with the sums
	// restarted, never with the sums of another step.
	if err := icbpc.WriteJSONFile(sidecar(path), p); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if err := t.Save(path); err != nil {
		os.Remove(sidecar(path))
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	s.lastCkpt = path
	s.Report.Checkpoint(path, t.Epoch, t.Step)
	if err := PruneCheckpoints(s.Out, s.Keep); err != nil {
		return path, err
	}
	return path, nil
}

// writeResults rewrites metrics.csv, assignments.csv and the plots.
func (s *Session) writeResults(ev *icbpc.Evaluation) error {
	out := s.Out
	if err := icbpc.WriteMetricsCSV(filepath.Join(out, MetricsFile), s.Records); err != nil {
		return err
	}
	if err := icbpc.WriteAssignmentsCSV(filepath.Join(out, AssignmentsFile), s.Test, ev.Assign, s.Labelled); err != nil {
		return err
	}
	return WritePlots(out, s.Records, ev, s.Test, s.Labelled, s.Trainer.Centroids, s.Config.Train.LatentDim)
}

// WritePlots writes the PNG plots of a results folder.
func WritePlots(out string, recs []icbpc.EpochRecord, ev *icbpc.Evaluation, test *icbpc.Dataset, labelled bool, cent *icbpc.Centroids, dim int) error {
	var trained []icbpc.EpochRecord
	for _, r := range recs {
		if r.Steps > 0 {
			trained = append(trained, r)
		}
	}
	if len(trained) > 0 {
		if err := icbpc.PlotLosses(filepath.Join(out, LossPlot), trained); err != nil {
			return err
		}
	}
	if labelled && len(recs) > 0 {
		if err := icbpc.PlotScores(filepath.Join(out, ScoresPlot), recs); err != nil {
			return err
		}
		if err := icbpc.PlotConfusion(filepath.Join(out, ConfusionPlot), ev.Confusion, test.ClassNames); err != nil {
			return err
		}
	}
	k := cent.Classes
	if ev.Features != nil && dim >= 2 {
		if err := icbpc.PlotLatentPCA(filepath.Join(out, LatentPlot), ev.Features, dim, ev.Assign, k, cent); err != nil {
			return err
		}
	}
	if ev.Features != nil && dim == 3 {
		if err := icbpc.PlotSphere(filepath.Join(out, SpherePlot), ev.Features, ev.Assign, k, cent); err != nil {
			return err
		}
	}
	return nil
}
