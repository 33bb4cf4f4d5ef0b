package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vkgrad/vkgrad/cmd/internal/runner"
	"github.com/vkgrad/vkgrad/icbpc"
)

// options are the flags of cmd/cluster.
type options struct {
	images, checkpoint, config, out string
	k                               int
	flat, centerCrop                bool
	size, channels                  int

	epochs, batch, dim, steps, views int
	width, lambda, lr                float64
	encoder, augment, backend        string
	seed                             uint64

	sheet, keep       int
	force, resume     bool
	quiet, json, help bool
	explicit          map[string]bool
}

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.images, "images", "", "folder of images to cluster (PNG/JPEG/GIF, searched recursively); also accepted as the only argument")
	fs.IntVar(&o.k, "k", 0, "number of clusters (from scratch: required unless class subfolders give it; with -checkpoint: the trained k)")
	fs.StringVar(&o.checkpoint, "checkpoint", "", "a cmd/train results folder (its newest checkpoint) or a checkpoint file; empty: train from scratch on the images")
	fs.StringVar(&o.config, "config", "", "the run's config.json (default: next to the checkpoint)")
	fs.BoolVar(&o.flat, "flat", false, "ignore class subfolders: treat every image as unlabelled")
	fs.IntVar(&o.size, "size", 32, "from scratch: resize images to size x size (with -checkpoint the model's size is used)")
	fs.IntVar(&o.channels, "channels", 0, "from scratch: 1 grey, 3 colour (0: grey only if every image is grey)")
	fs.BoolVar(&o.centerCrop, "center-crop", true, "resize the shorter side and crop the centre (false: stretch)")
	fs.IntVar(&o.epochs, "epochs", 20, "from scratch: training epochs")
	fs.IntVar(&o.batch, "batch", 100, "from scratch: batch size (lowered to the number of images)")
	fs.IntVar(&o.steps, "steps", 0, "from scratch: cap on the steps of an epoch (0: one pass)")
	fs.IntVar(&o.dim, "dim", 60, "from scratch: latent dimension d (raised to k-1 when needed)")
	fs.Float64Var(&o.width, "width", 0.5, "from scratch: encoder channel multiplier")
	fs.StringVar(&o.encoder, "encoder", "released", "from scratch: encoder (released, table3, resnet18, resnet50)")
	fs.Float64Var(&o.lambda, "lambda", 8, "from scratch: weight of the contrastive loss")
	fs.Float64Var(&o.lr, "lr", 1e-3, "from scratch: Adam learning rate")
	fs.StringVar(&o.augment, "augment", "auto", "from scratch: augmentation ("+strings.Join(icbpc.AugmentNames, ", ")+")")
	fs.IntVar(&o.views, "views", 1, "from scratch: augmented views per image")
	fs.Uint64Var(&o.seed, "seed", 1, "from scratch: seed")
	fs.StringVar(&o.backend, "backend", "", "backend: auto (Vulkan GPU > lavapipe > CPU), cpu, vulkan or vulkan:N")
	fs.StringVar(&o.out, "out", "", "results folder (default runs/cluster-<time>)")
	fs.IntVar(&o.sheet, "sheet", 100, "most images per contact sheet (the most typical first)")
	fs.BoolVar(&o.force, "force", false, "write into an -out folder that holds earlier results")
	fs.BoolVar(&o.resume, "resume", false, "from scratch: continue an interrupted training in -out")
	fs.IntVar(&o.keep, "keep", 2, "from scratch: checkpoints to keep (0 keeps all)")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the result and errors")
	fs.BoolVar(&o.json, "json", false, "print JSON lines for scripts")
	fs.BoolVar(&o.help, "h", false, "show this help")
	fs.BoolVar(&o.help, "help", false, "show this help")
	return fs
}

// parseArgs parses the command line; flag.ErrHelp for -h.
func parseArgs(args []string) (*options, *flag.FlagSet, error) {
	o := &options{explicit: map[string]bool{}}
	fs := newFlagSet(o)
	// Flags may follow the folder argument: parse, take one positional
	// argument, parse the rest.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, fs, err
			}
			return nil, fs, runner.Usagef("%v (run with -h for the flags)", err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if o.help {
		return nil, fs, flag.ErrHelp
	}
	fs.Visit(func(f *flag.Flag) { o.explicit[f.Name] = true })
	switch {
	case len(positional) == 1 && o.images == "":
		o.images = positional[0]
	case len(positional) > 0:
		return nil, fs, runner.Usagef("unexpected argument %q (give one image folder, with -images or as the argument; run with -h for the flags)", positional[len(positional)-1])
	}
	switch {
	case o.images == "":
		return nil, fs, runner.Usagef("no image folder given: cluster -images FOLDER -k N (run with -h for the flags)")
	case o.k < 0:
		return nil, fs, runner.Usagef("-k must be positive, got %d", o.k)
	case o.sheet < 1:
		return nil, fs, runner.Usagef("-sheet must be at least 1, got %d", o.sheet)
	case o.quiet && o.json:
		return nil, fs, runner.Usagef("-quiet and -json exclude each other")
	case o.checkpoint != "" && o.resume:
		return nil, fs, runner.Usagef("-resume continues training from scratch; it does not go with -checkpoint")
	case o.keep < 0:
		return nil, fs, runner.Usagef("-keep must be >= 0, got %d", o.keep)
	}
	if o.checkpoint != "" {
		for _, n := range []string{"epochs", "batch", "steps", "dim", "width", "encoder", "lambda", "lr", "augment", "views", "seed", "size", "channels", "keep"} {
			if o.explicit[n] {
				return nil, fs, runner.Usagef("-%s is for training from scratch; with -checkpoint the trained run's settings apply", n)
			}
		}
	}
	return o, fs, nil
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: go run ./cmd/cluster -images FOLDER [-k N] [flags]

Clusters your own images into k groups with ICBPC and writes, in -out:
  assignments.csv   path,cluster[,label] for every image
  cluster-NN.png    a contact sheet per cluster, most typical images first
  summary.json      k, sizes of the clusters and, with labels, the scores
Training from scratch also writes the cmd/train results (metrics.csv, plots,
checkpoints/). Images in class subfolders are scored against their folder
names (then k must equal the number of subfolders, or use -flat).

Flags:
`)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "help" {
			return
		}
		arg, text := flag.UnquoteUsage(f)
		head := "  -" + f.Name
		if arg != "" {
			head += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			text += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "%-24s%s\n", head, text)
	})
	fmt.Fprint(w, `
Examples:
  go run ./cmd/cluster -images ~/photos -k 5                 # train from scratch, 32x32
  go run ./cmd/cluster -images ~/photos -k 5 -size 64 -epochs 40
  go run ./cmd/cluster -images ~/digits -checkpoint runs/mnist   # use a trained model

Exit codes: 0 done, 1 failed while running, 2 usage or input error,
130 interrupted (from scratch: checkpoint written; continue with -resume).
`)
}
