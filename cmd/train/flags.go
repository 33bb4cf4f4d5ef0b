package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vkgrad/vkgrad/cmd/internal/runner"
	"github.com/vkgrad/vkgrad/icbpc"
)

// options are the flags that steer the program rather than the run.
type options struct {
	preset, config, out string
	resume, force       bool
	quiet, json         bool
	keep                int
	ablation, literal   bool
	help                bool
}

// setting is a flag that changes the run configuration when given.
type setting struct {
	name  string
	apply func(c *icbpc.RunConfig) error
}

// parsed is the result of parsing the command line.
type parsed struct {
	opt      options
	settings []setting // the configuration flags given, in application order
	explicit map[string]bool
}

// flagGroups orders the flags in -h.
var flagGroups = []struct {
	title string
	names []string
}{
	{"Run", []string{"preset", "config", "out", "resume", "force", "backend", "seed"}},
	{"Data", []string{"dataset", "data", "k", "train-split", "test-split", "train-limit", "test-limit", "pad", "size", "channels"}},
	{"Model and loss", []string{"encoder", "width", "dim", "backbone", "losses", "lambda", "alpha", "mmd-distance", "con-distance", "estimator", "negatives", "augment", "views", "eval-batch-stats"}},
	{"Schedule", []string{"epochs", "batch", "lr", "steps"}},
	{"Output", []string{"quiet", "json", "keep"}},
	{"Ablation", []string{"ablation", "ablation-literal"}},
}

// newFlagSet defines every flag. Configuration flags record an apply
// function that parse runs for the flags actually given.
func newFlagSet(p *parsed) (*flag.FlagSet, map[string]func(*icbpc.RunConfig) error) {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &p.opt
	fs.StringVar(&o.preset, "preset", "quick", "starting configuration: "+strings.Join(icbpc.PresetNames, ", ")+" (see below)")
	fs.StringVar(&o.config, "config", "", "JSON run configuration (e.g. an earlier run's config.json) over the preset; flags given override it")
	fs.StringVar(&o.out, "out", "", "results folder (default runs/<time>-<preset>-<dataset>; with -resume the newest run under runs/)")
	fs.BoolVar(&o.resume, "resume", false, "continue the run in -out from its last checkpoint (only -epochs and -backend may change)")
	fs.BoolVar(&o.force, "force", false, "start over in an -out folder that holds another run (its run files are deleted)")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the result and errors")
	fs.BoolVar(&o.json, "json", false, "print JSON lines (events start, step, epoch, checkpoint, done, interrupted, error) for scripts")
	fs.IntVar(&o.keep, "keep", 3, "checkpoints to keep (0 keeps all)")
	fs.BoolVar(&o.ablation, "ablation", false, "run the paper's Table 6 ablation (4 runs) with this budget and print it next to the paper's numbers")
	fs.BoolVar(&o.literal, "ablation-literal", false, "in the ablation also put each column's distance into the MMD kernel (the paper's wording; the composite distance there does not learn)")

	appliers := map[string]func(*icbpc.RunConfig) error{}
	str := func(name, usage string, apply func(c *icbpc.RunConfig, v string) error) {
		v := fs.String(name, "", usage)
		appliers[name] = func(c *icbpc.RunConfig) error { return apply(c, *v) }
	}
	num := func(name, usage string, apply func(c *icbpc.RunConfig, v int) error) {
		v := fs.Int(name, 0, usage)
		appliers[name] = func(c *icbpc.RunConfig) error { return apply(c, *v) }
	}
	float := func(name, usage string, apply func(c *icbpc.RunConfig, v float64) error) {
		v := fs.Float64(name, 0, usage)
		appliers[name] = func(c *icbpc.RunConfig) error { return apply(c, *v) }
	}
	boolean := func(name, usage string, apply func(c *icbpc.RunConfig, v bool)) {
		v := fs.Bool(name, false, usage)
		appliers[name] = func(c *icbpc.RunConfig) error { apply(c, *v); return nil }
	}
	nonNeg := func(name string, v int) error {
		if v < 0 {
			return fmt.Errorf("-%s must be >= 0, got %d", name, v)
		}
		return nil
	}

	str("dataset", "dataset: "+strings.Join(icbpc.DatasetNames, ", ")+" (keeps the preset's budget; use -preset paper-<dataset> for the paper's settings)",
		func(c *icbpc.RunConfig, v string) error { return setDataset(c, v) })
	str("data", "data folder (mnist: embedded, fashion-mnist: "+icbpc.DefaultFashionMNISTDir+"; the others need one)",
		func(c *icbpc.RunConfig, v string) error { c.Data.Dir = v; return nil })
	num("k", "number of clusters; must equal the dataset's number of classes (default: the dataset's)",
		func(c *icbpc.RunConfig, v int) error { c.Data.Classes = v; return nonNeg("k", v) })
	split := func(name string, dst func(c *icbpc.RunConfig) *icbpc.Split) {
		str(name, "split: train, test or all", func(c *icbpc.RunConfig, v string) error {
			switch icbpc.Split(v) {
			case icbpc.SplitTrain, icbpc.SplitTest, icbpc.SplitAll:
				*dst(c) = icbpc.Split(v)
				return nil
			}
			return fmt.Errorf("-%s %q: want train, test or all", name, v)
		})
	}
	split("train-split", func(c *icbpc.RunConfig) *icbpc.Split { return &c.Data.TrainSplit })
	split("test-split", func(c *icbpc.RunConfig) *icbpc.Split { return &c.Data.TestSplit })
	num("train-limit", "train on a fixed random subset of this many images (0: all)",
		func(c *icbpc.RunConfig, v int) error { c.Data.TrainLimit = v; return nonNeg("train-limit", v) })
	num("test-limit", "evaluate on a fixed random subset of this many images (0: all)",
		func(c *icbpc.RunConfig, v int) error { c.Data.TestLimit = v; return nonNeg("test-limit", v) })
	num("pad", "pad images by this many background pixels per side (2: 28x28 digits to 32x32)",
		func(c *icbpc.RunConfig, v int) error { c.Data.Pad = v; return nonNeg("pad", v) })
	num("size", "resize image-folder and COIL images to size x size (0: native size)",
		func(c *icbpc.RunConfig, v int) error { c.Data.Size = v; return nonNeg("size", v) })
	num("channels", "image-folder channels: 1 grey, 3 RGB (0: detect)",
		func(c *icbpc.RunConfig, v int) error { c.Data.Channels = v; return nonNeg("channels", v) })

	str("encoder", "encoder: released (the authors' code), table3 (the paper's Table 3), resnet18, resnet50",
		func(c *icbpc.RunConfig, v string) error { c.Train.Encoder = v; return nil })
	float("width", "encoder channel multiplier (1 full, 0.5 half width)",
		func(c *icbpc.RunConfig, v float64) error {
			if !(v > 0) {
				return fmt.Errorf("-width must be positive, got %v", v)
			}
			c.Train.Width = v
			return nil
		})
	num("dim", "latent dimension d, at least k-1 (d = 3, for k <= 4, also draws the sphere of the paper's Figure 8)",
		func(c *icbpc.RunConfig, v int) error { c.Train.LatentDim = v; return nil })
	str("backbone", "safetensors file of pretrained ResNet trunk weights (the paper's pretrained path; layer3, layer4 and fc train)",
		func(c *icbpc.RunConfig, v string) error { c.Backbone = v; return nil })
	str("losses", "losses: both, mmd or contrastive", func(c *icbpc.RunConfig, v string) error {
		switch v {
		case "both":
			c.Train.Loss.UseMMD, c.Train.Loss.UseContrastive = true, true
		case "mmd":
			c.Train.Loss.UseMMD, c.Train.Loss.UseContrastive, c.Train.Loss.L1Weight = true, false, 0
		case "contrastive":
			c.Train.Loss.UseMMD, c.Train.Loss.UseContrastive = false, true
		default:
			return fmt.Errorf("-losses %q: want both, mmd or contrastive", v)
		}
		return nil
	})
	float("lambda", "weight of the contrastive loss (paper Table 1: 8 or 9)",
		func(c *icbpc.RunConfig, v float64) error { c.Train.Loss.Lambda = float32(v); return nil })
	float("alpha", "weight of sqrt(d_theta) in the composite distance (0.25)",
		func(c *icbpc.RunConfig, v float64) error { c.Train.Loss.Alpha = float32(v); return nil })
	dist := func(name, what string, dst func(c *icbpc.RunConfig) *icbpc.Distance) {
		str(name, "distance in "+what+": euclidean (2-2cos), cosine (1-cos) or composite (the paper's)",
			func(c *icbpc.RunConfig, v string) error {
				d, err := icbpc.ParseDistance(v)
				if err != nil {
					return fmt.Errorf("-%s: %w", name, err)
				}
				*dst(c) = d
				return nil
			})
	}
	dist("mmd-distance", "the MMD kernel", func(c *icbpc.RunConfig) *icbpc.Distance { return &c.Train.Loss.MMDDistance })
	dist("con-distance", "the contrastive loss", func(c *icbpc.RunConfig) *icbpc.Distance { return &c.Train.Loss.ContrastiveDistance })
	str("estimator", "MMD estimator: unbiased (paper, against the C centroids) or biased (code, against tiled centroids)",
		func(c *icbpc.RunConfig, v string) error {
			e, err := icbpc.ParseEstimator(v)
			if err != nil {
				return fmt.Errorf("-estimator: %w", err)
			}
			c.Train.Loss.Estimator = e
			return nil
		})
	boolean("negatives", "use negative pairs in the contrastive loss (the paper's Eq. 5; -negatives=false is the code's positives-only loss)",
		func(c *icbpc.RunConfig, v bool) { c.Train.Loss.Negatives = v })
	str("augment", "augmentation: "+strings.Join(icbpc.AugmentNames, ", "),
		func(c *icbpc.RunConfig, v string) error { c.Augment = v; return nil })
	num("views", "augmented views per image (released always makes its 5)",
		func(c *icbpc.RunConfig, v int) error { c.Views = v; return nil })
	boolean("eval-batch-stats", "evaluate with batch-norm batch statistics (the released code) instead of running statistics",
		func(c *icbpc.RunConfig, v bool) { c.Train.EvalBatchStats = v })

	num("epochs", "epochs to train (in total, also when resuming)",
		func(c *icbpc.RunConfig, v int) error { c.Train.Epochs = v; return nonNeg("epochs", v) })
	num("batch", "batch size (originals; each step encodes them and their views)",
		func(c *icbpc.RunConfig, v int) error { c.Train.BatchSize = v; return nil })
	float("lr", "Adam learning rate", func(c *icbpc.RunConfig, v float64) error { c.Train.LR = float32(v); return nil })
	num("steps", "cap on the steps of an epoch (0: one pass over the training images)",
		func(c *icbpc.RunConfig, v int) error { c.Train.StepsPerEpoch = v; return nonNeg("steps", v) })
	num("seed", "seed of initialisation, centroids, order, augmentation and negatives",
		func(c *icbpc.RunConfig, v int) error { c.Train.Seed = uint64(v); return nonNeg("seed", v) })
	str("backend", "backend: auto (Vulkan GPU > lavapipe > CPU), cpu, vulkan or vulkan:N",
		func(c *icbpc.RunConfig, v string) error { c.Backend = v; return nil })
	fs.BoolVar(&o.help, "h", false, "show this help")
	fs.BoolVar(&o.help, "help", false, "show this help")
	return fs, appliers
}

// setDataset switches the dataset, taking the image geometry and splits
// from the dataset's paper preset (the budget stays the current one's).
func setDataset(c *icbpc.RunConfig, name string) error {
	if !slices.Contains(icbpc.DatasetNames, name) {
		if p, ok := icbpc.PaperPresetFor(name); ok {
			name = p.Data.Dataset
		} else {
			return fmt.Errorf("-dataset %q: want one of %s", name, strings.Join(icbpc.DatasetNames, ", "))
		}
	}
	if name == c.Data.Dataset {
		return nil
	}
	d := &c.Data
	d.Dataset = name
	if p, ok := icbpc.PaperPresetFor(name); ok {
		d.TrainSplit, d.TestSplit, d.Pad, d.Size, d.Channels = p.Data.TrainSplit, p.Data.TestSplit, p.Data.Pad, p.Data.Size, p.Data.Channels
	} else { // an image folder
		d.TrainSplit, d.TestSplit, d.Pad, d.Size, d.Channels = icbpc.SplitAll, icbpc.SplitAll, 0, 64, 0
	}
	d.TestPerClass, d.Classes, c.Input = 0, 0, nil
	return nil
}

// parseArgs parses the command line. It returns flag.ErrHelp for -h.
func parseArgs(args []string) (*parsed, *flag.FlagSet, error) {
	p := &parsed{explicit: map[string]bool{}}
	fs, appliers := newFlagSet(p)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, fs, flag.ErrHelp
		}
		return nil, fs, runner.Usagef("%v (run with -h for the flags)", err)
	}
	if p.opt.help {
		return nil, fs, flag.ErrHelp
	}
	if fs.NArg() > 0 {
		return nil, fs, runner.Usagef("unexpected argument %q (flags start with -; run with -h for the flags)", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { p.explicit[f.Name] = true })
	// -dataset first: it resets the geometry that -pad/-size may change.
	names := make([]string, 0, len(p.explicit))
	for n := range p.explicit {
		if appliers[n] != nil {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "dataset") != (names[j] == "dataset") {
			return names[i] == "dataset"
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		p.settings = append(p.settings, setting{n, appliers[n]})
	}
	if p.opt.quiet && p.opt.json {
		return nil, fs, runner.Usagef("-quiet and -json exclude each other")
	}
	if p.opt.keep < 0 {
		return nil, fs, runner.Usagef("-keep must be >= 0, got %d", p.opt.keep)
	}
	return p, fs, nil
}

// applySettings applies the configuration flags to c.
func (p *parsed) applySettings(c *icbpc.RunConfig) error {
	for _, s := range p.settings {
		if err := s.apply(c); err != nil {
			return runner.Usage(err)
		}
	}
	return nil
}

// resolve builds the run configuration: the preset (or the file's
// preset), the -config file over it, then the flags given.
func (p *parsed) resolve() (icbpc.RunConfig, error) {
	name := p.opt.preset
	if p.opt.config != "" && !p.explicit["preset"] {
		var head struct {
			Preset string `json:"preset"`
		}
		if b, err := os.ReadFile(p.opt.config); err == nil {
			json.Unmarshal(b, &head) // errors are reported by ReadConfig below
			if head.Preset != "" {
				name = head.Preset
			}
		}
	}
	cfg, err := icbpc.Preset(name)
	if err != nil {
		return cfg, runner.Usage(err)
	}
	if p.opt.config != "" {
		if cfg, err = runner.ReadConfig(p.opt.config, cfg); err != nil {
			return cfg, err
		}
	}
	if err := p.applySettings(&cfg); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, runner.Usage(err)
	}
	return cfg, nil
}

// resumeConfig reads the run's config.json and applies the flags given,
// which may only change the epochs and the backend.
func (p *parsed) resumeConfig(out string) (icbpc.RunConfig, error) {
	if p.explicit["preset"] || p.explicit["config"] {
		return icbpc.RunConfig{}, runner.Usagef("-resume takes the configuration from %s; drop -preset and -config",
			filepath.Join(out, runner.ConfigFile))
	}
	saved, err := runner.ReadConfig(filepath.Join(out, runner.ConfigFile), icbpc.RunConfig{})
	if err != nil {
		return saved, err
	}
	cfg := saved
	if err := p.applySettings(&cfg); err != nil {
		return cfg, err
	}
	cmp := cfg
	cmp.Train.Epochs, cmp.Backend = saved.Train.Epochs, saved.Backend
	if !reflect.DeepEqual(cmp, saved) {
		var changed []string
		for _, s := range p.settings {
			if s.name != "epochs" && s.name != "backend" {
				changed = append(changed, "-"+s.name)
			}
		}
		return cfg, runner.Usagef("only -epochs and -backend can change when resuming, not %s; start a new run in another -out folder",
			strings.Join(changed, " "))
	}
	return cfg, nil
}

// defaultOut names a fresh results folder.
func defaultOut(cfg icbpc.RunConfig) string {
	name := fmt.Sprintf("%s-%s-%s", time.Now().Format("20060102-150405"), cfg.Preset, cfg.Data.Dataset)
	return filepath.Join("runs", name)
}

// newestRun returns the most recently modified folder under runs/ that
// holds a run.
func newestRun() (string, error) {
	ents, err := os.ReadDir("runs")
	if err != nil {
		return "", runner.Usagef("-resume needs the run's folder: give it with -out (no runs/ folder here)")
	}
	var best string
	var bestT time.Time
	for _, e := range ents {
		dir := filepath.Join("runs", e.Name())
		if !e.IsDir() || !runner.HoldsRun(dir) {
			continue
		}
		st, err := os.Stat(filepath.Join(dir, runner.ConfigFile))
		if err == nil && st.ModTime().After(bestT) {
			best, bestT = dir, st.ModTime()
		}
	}
	if best == "" {
		return "", runner.Usagef("-resume needs the run's folder: give it with -out (no run under runs/)")
	}
	return best, nil
}

// usage writes the -h text.
func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: go run ./cmd/train [flags]

Trains ICBPC image clustering (predefined evenly-distributed class centroids,
MMD + contrastive loss with the composite cosine distance) and reports the
clustering ACC, NMI and ARI of the last epoch on the evaluation images.
Without flags: the "quick" preset on the embedded MNIST (about 7-10 minutes on
a 2-core CPU). A flag given on the command line overrides the preset and
the -config file.
`)
	quick, _ := icbpc.Preset("quick")
	for _, g := range flagGroups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, n := range g.names {
			f := fs.Lookup(n)
			if f == nil {
				continue
			}
			arg, text := flag.UnquoteUsage(f)
			head := "  -" + n
			if arg != "" {
				head += " " + arg
			}
			if v, ok := presetValue(n, quick); ok {
				text += " (quick: " + v + ")"
			} else if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
				text += " (default " + f.DefValue + ")"
			}
			if len(head) <= 22 {
				fmt.Fprintf(w, "%-24s%s\n", head, text)
			} else {
				fmt.Fprintf(w, "%s\n%24s%s\n", head, "", text)
			}
		}
	}
	fmt.Fprint(w, "\nPresets (every value can be overridden by a flag):\n")
	for _, n := range icbpc.PresetNames {
		fmt.Fprintf(w, "  %-22s%s\n", n, icbpc.PresetDescriptions[n])
	}
	fmt.Fprint(w, `
Results folder (-out): config.json, metrics.csv (one row per epoch),
assignments.csv, loss.png, scores.png, confusion.png, latent.png (PCA),
sphere.png (d = 3) and checkpoints/ (every epoch and on Ctrl-C; -keep newest).
The reported result is the last epoch's; the best epoch is shown only as a
reference, since choosing it uses the test labels.

Ctrl-C (SIGINT) or SIGTERM finishes the current step, writes a checkpoint
and exits with code 130; -resume -out <folder> continues with the same
results (bit-identical on the CPU backend). A second Ctrl-C aborts at once.

Exit codes: 0 done; 1 failed while running (non-finite loss: the last good
checkpoint is kept; write error such as a full disk: earlier files are
kept); 2 usage or input error (bad flag, unknown preset, missing data,
classes != -k, -out holding another run); 130 interrupted.

Examples:
  go run ./cmd/train                                   # quick MNIST run
  go run ./cmd/train -preset paper-mnist -out runs/mnist
  go run ./cmd/train -preset paper-fashion-mnist -backend vulkan:0
  go run ./cmd/train -preset paper-coil20 -data ~/data/coil-20-proc
  go run ./cmd/train -dataset folder -data ~/photos -k 5 -size 64
  go run ./cmd/train -resume -out runs/mnist
  go run ./cmd/train -ablation -epochs 3 -out runs/ablation
`)
}

// presetValue shows the value a configuration flag has in preset c.
func presetValue(name string, c icbpc.RunConfig) (string, bool) {
	t, l, d := c.Train, c.Train.Loss, c.Data
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 32) }
	switch name {
	case "dataset":
		return d.Dataset, true
	case "train-split":
		return string(d.TrainSplit), true
	case "test-split":
		return string(d.TestSplit), true
	case "train-limit":
		return strconv.Itoa(d.TrainLimit), true
	case "test-limit":
		return strconv.Itoa(d.TestLimit), true
	case "pad":
		return strconv.Itoa(d.Pad), true
	case "encoder":
		return t.Encoder, true
	case "width":
		return f(t.Width), true
	case "dim":
		return strconv.Itoa(t.LatentDim), true
	case "losses":
		switch {
		case !l.UseContrastive:
			return "mmd", true
		case !l.UseMMD:
			return "contrastive", true
		}
		return "both", true
	case "lambda":
		return f(float64(l.Lambda)), true
	case "alpha":
		return f(float64(l.Alpha)), true
	case "mmd-distance":
		return l.MMDDistance.String(), true
	case "con-distance":
		return l.ContrastiveDistance.String(), true
	case "estimator":
		return l.Estimator.String(), true
	case "negatives":
		return strconv.FormatBool(l.Negatives), true
	case "augment":
		return c.Augment, true
	case "views":
		return strconv.Itoa(c.Views), true
	case "epochs":
		return strconv.Itoa(t.Epochs), true
	case "batch":
		return strconv.Itoa(t.BatchSize), true
	case "lr":
		return f(float64(t.LR)), true
	case "seed":
		return strconv.FormatUint(t.Seed, 10), true
	}
	return "", false
}
