package main

import (
	"context"
	"errors"
	"flag"
	"io"

	"github.com/vkgrad/vkgrad/cmd/internal/runner"
	"github.com/vkgrad/vkgrad/icbpc"
)

// run is the whole program: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	p, fs, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout, fs)
		return runner.ExitOK
	}
	mode := runner.Human
	if p != nil && p.opt.quiet {
		mode = runner.Quiet
	} else if p != nil && p.opt.json {
		mode = runner.JSONLines
	}
	rep := runner.NewReporter(mode, stdout, stderr)
	if err == nil {
		if p.opt.ablation {
			err = ablation(ctx, p, rep)
		} else {
			err = train(ctx, p, rep)
		}
	}
	if err != nil && !errors.Is(err, runner.ErrInterrupted) {
		rep.Error("train", err)
	}
	return runner.ExitCode(err)
}

// train runs (or resumes) one training run.
func train(ctx context.Context, p *parsed, rep *runner.Reporter) error {
	out := p.opt.out
	var cfg icbpc.RunConfig
	var err error
	if p.opt.resume {
		if out == "" {
			if out, err = newestRun(); err != nil {
				return err
			}
		}
		if err := runner.CheckOut(out, true, false); err != nil {
			return err
		}
		if cfg, err = p.resumeConfig(out); err != nil {
			return err
		}
	} else {
		if cfg, err = p.resolve(); err != nil {
			return err
		}
		if out == "" {
			out = defaultOut(cfg)
		}
		if err := runner.CheckOut(out, false, p.opt.force); err != nil {
			return err
		}
	}
	s, err := newSession(cfg, out, p.opt.keep, p.opt.force, p.opt.resume, rep)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// newSession loads the data, opens the backend, prepares the results
// folder (only after every check passed) and restores the last checkpoint
// when resuming.
func newSession(cfg icbpc.RunConfig, out string, keep int, force, resume bool, rep *runner.Reporter) (*runner.Session, error) {
	trainSet, testSet, err := runner.LoadData(cfg.Data)
	if err != nil {
		return nil, err
	}
	b, notice, err := runner.OpenBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	if notice != "" {
		rep.Notice("%s", notice)
	}
	s, err := runner.NewSession(cfg, b, trainSet, testSet, true, out, keep, rep)
	if err != nil {
		return nil, err
	}
	if !resume {
		if err := runner.PrepareOut(out, force); err != nil {
			return nil, err
		}
	} else if _, err := s.Resume(); err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}
