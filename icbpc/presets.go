package icbpc

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// RunConfig is everything that decides a training run: the data, the
// augmentation, the trainer settings and the backend. It is what
// cmd/train writes as config.json next to its results and reads back with
// -config or -resume, so every field has a JSON name.
type RunConfig struct {
	// Preset names the preset this configuration started from.
	Preset string `json:"preset"`
	// Data says which images are trained on and evaluated.
	Data DataConfig `json:"data"`
	// Augment names the augmentation preset (see AugmentNames).
	Augment string `json:"augment"`
	// Views is the number of augmented views per image for the presets
	// that make one kind of view (0 means 1); the "released" preset always
	// makes its five.
	Views int `json:"views"`
	// Backbone is an optional safetensors file of pretrained ResNet trunk
	// weights (the paper's Barlow Twins path); empty trains from scratch.
	Backbone string `json:"backbone,omitempty"`
	// Backend is the backend spec ("cpu", "vulkan", "vulkan:1"); empty
	// means the best available one.
	Backend string `json:"backend,omitempty"`
	// Train holds the trainer settings.
	Train TrainConfig `json:"train"`
	// Input records the encoder's input shape as the run resolved it
	// (after padding and resizing), so that cmd/cluster can prepare other
	// images for a trained checkpoint. It is informational: a run
	// recomputes it from the data.
	Input *Shape `json:"input,omitempty"`
}

// DataConfig selects and prepares the training and evaluation images.
type DataConfig struct {
	// Dataset is a name Load accepts (mnist, fashion-mnist, coil20, ...).
	Dataset string `json:"dataset"`
	// Dir is the data folder (empty: the dataset's default location).
	Dir string `json:"dir,omitempty"`
	// TrainSplit is trained on, TestSplit evaluated every epoch.
	TrainSplit Split `json:"train_split"`
	TestSplit  Split `json:"test_split"`
	// Pad, Size, CenterCrop, Channels, TestFraction and SplitSeed are
	// passed to the loader (see LoadOptions).
	Pad          int     `json:"pad"`
	Size         int     `json:"size"`
	CenterCrop   bool    `json:"center_crop,omitempty"`
	Channels     int     `json:"channels,omitempty"`
	TestFraction float64 `json:"test_fraction,omitempty"`
	SplitSeed    uint64  `json:"split_seed"`
	// TrainLimit and TestLimit keep a fixed random subset of that many
	// images (drawn with SplitSeed, independent of the training seed; 0
	// keeps all).
	TrainLimit int `json:"train_limit"`
	TestLimit  int `json:"test_limit"`
	// TestPerClass evaluates on a class-balanced subset with this many
	// images per class (the authors' 890-per-class MNIST test folder);
	// applied before TestLimit. 0 keeps all.
	TestPerClass int `json:"test_per_class,omitempty"`
	// Classes is k, the number of clusters. 0 means the dataset's number
	// of classes; otherwise the two must agree.
	Classes int `json:"classes,omitempty"`
}

// LoadOptions returns the loader options for split.
func (c DataConfig) LoadOptions(split Split) LoadOptions {
	return LoadOptions{
		Dir: c.Dir, Split: split, Pad: c.Pad, Size: c.Size, CenterCrop: c.CenterCrop,
		Channels: c.Channels, TestFraction: c.TestFraction, SplitSeed: c.SplitSeed,
	}
}

// Load loads the training and evaluation sets, applies the subsets and
// checks the number of classes against Classes. When both splits are the
// same, test is the same *Dataset as train unless limits differ.
func (c DataConfig) Load() (train, test *Dataset, err error) {
	train, err = Load(c.Dataset, c.LoadOptions(c.TrainSplit))
	if err != nil {
		return nil, nil, err
	}
	if c.Classes > 0 && train.Classes != c.Classes {
		return nil, nil, fmt.Errorf("dataset %s has %d classes but k = %d clusters were asked for; drop the cluster count or pick a dataset with %d classes",
			train.Name, train.Classes, c.Classes, c.Classes)
	}
	full := train
	if train, err = c.limit(full, c.TrainLimit, 0); err != nil {
		return nil, nil, err
	}
	test = full
	if normSplit(c.TestSplit) != normSplit(c.TrainSplit) {
		if test, err = Load(c.Dataset, c.LoadOptions(c.TestSplit)); err != nil {
			return nil, nil, err
		}
		if test.Classes != full.Classes {
			return nil, nil, fmt.Errorf("dataset %s has %d classes but its %s split has %d", full.Name, full.Classes, c.TestSplit, test.Classes)
		}
	}
	if c.TestPerClass > 0 {
		if test, err = test.Balanced(c.TestPerClass, c.SplitSeed); err != nil {
			return nil, nil, fmt.Errorf("%w (lower the per-class test count)", err)
		}
	}
	if test, err = c.limit(test, c.TestLimit, 1); err != nil {
		return nil, nil, err
	}
	if test == full && c.TrainLimit == c.TestLimit {
		test = train
	}
	return train, test, nil
}

func normSplit(s Split) Split {
	if s == "" {
		return SplitAll
	}
	return s
}

// limit keeps a fixed random subset of n samples (in their original order).
func (c DataConfig) limit(d *Dataset, n int, stream uint64) (*Dataset, error) {
	switch {
	case n < 0:
		return nil, fmt.Errorf("dataset %s: negative image limit %d", d.Name, n)
	case n == 0 || n >= d.Len():
		return d, nil
	}
	rng := rand.New(rand.NewPCG(c.SplitSeed, 0x11317+stream))
	idx := rng.Perm(d.Len())[:n]
	slices.Sort(idx)
	out := d.Subset(idx)
	out.Name = fmt.Sprintf("%s[%d]", d.Name, n)
	return out, nil
}

// AugmentNames lists the augmentation presets NewViewMaker accepts:
//
//	auto        the dataset's preset (PresetFor): digits for MNIST, geometric-flip for other grey sets, colour for photographs
//	digits      geometric plus random stroke width (pen thickness; MNIST's default)
//	geometric   rotation, shift, scale and shear (no flip: the paper's MNIST transforms)
//	geometric-flip  geometric plus horizontal flips (clothes, objects)
//	colour      resized crop, flip, colour jitter, greyscale, blur, Sobel
//	released    the released code's five views T1..T5
//	none        no augmented views (only the MMD can be trained)
var AugmentNames = []string{"auto", "digits", "geometric", "geometric-flip", "colour", "released", "none"}

// NewViewMaker builds the augmentation of c for images of shape s. It
// returns nil (no views) for "none".
func (c RunConfig) NewViewMaker(s Shape) (ViewMaker, error) {
	views := c.Views
	if views == 0 {
		views = 1
	}
	if views < 0 {
		return nil, fmt.Errorf("augment: view count must be positive, got %d", c.Views)
	}
	var p Pipeline
	switch strings.ToLower(c.Augment) {
	case "", "auto":
		var err error
		if p, err = PresetFor(c.Data.Dataset, s); err != nil {
			return nil, err
		}
	case "digits":
		p = DigitsPipeline()
	case "geometric":
		p = GeometricPipeline(false)
	case "geometric-flip":
		p = GeometricPipeline(true)
	case "colour", "color":
		p = ColourPipeline(s)
	case "released":
		return NewAugmenter(ReleasedViews()...), nil
	case "none":
		return nil, nil
	default:
		return nil, fmt.Errorf("augment: unknown preset %q (want one of %s)", c.Augment, strings.Join(AugmentNames, ", "))
	}
	ps := make([]Pipeline, views)
	for i := range ps {
		ps[i] = p
	}
	return NewAugmenter(ps...), nil
}

// Validate reports a configuration that cannot run, before any data is
// loaded.
func (c RunConfig) Validate() error {
	if c.Data.Dataset == "" {
		return fmt.Errorf("no dataset given")
	}
	if !slices.Contains(AugmentNames, strings.ToLower(c.Augment)) && c.Augment != "" && c.Augment != "color" {
		return fmt.Errorf("unknown augmentation %q (want one of %s)", c.Augment, strings.Join(AugmentNames, ", "))
	}
	views := 0
	switch strings.ToLower(c.Augment) {
	case "none":
	case "released":
		views = 5
	default:
		views = max(c.Views, 1)
	}
	if c.Views < 0 {
		return fmt.Errorf("view count must be positive, got %d", c.Views)
	}
	if c.Train.Width < 0 {
		return fmt.Errorf("encoder width must be positive, got %v", c.Train.Width)
	}
	if c.Data.TrainLimit < 0 || c.Data.TestLimit < 0 || c.Data.TestPerClass < 0 || c.Data.Classes < 0 {
		return fmt.Errorf("image limits and the cluster count must be >= 0")
	}
	return c.Train.Validate(views)
}

// paperSetting is one row of the paper's Tables 1, 2 and 5.
type paperSetting struct {
	dataset    string
	dim        int
	lambda     float32
	encoder    string
	pad, size  int
	channels   int
	trainSplit Split
	testSplit  Split
}

// paperSettings are the per-dataset settings of the paper (reference §3.4).
// Datasets with an official split train on it and evaluate on the held-out
// test images; COIL-20 and ImageNet-10 have none and use every image for
// both (training never reads labels). The colour sets use the ResNet-50 of
// the paper's pretrained path (load weights with Backbone).
var paperSettings = []paperSetting{
	{"mnist", 60, 8, "released", 2, 0, 0, SplitTrain, SplitTest},
	{"fashion-mnist", 100, 8, "released", 2, 0, 0, SplitTrain, SplitTest},
	{"coil20", 160, 9, "released", 0, 128, 1, SplitAll, SplitAll},
	{"cifar10", 60, 9, "resnet50", 0, 0, 0, SplitTrain, SplitTest},
	{"stl10", 100, 8, "resnet50", 0, 0, 0, SplitTrain, SplitTest},
	{"imagenet10", 100, 8, "resnet50", 0, 224, 3, SplitAll, SplitAll},
}

// PresetNames lists the presets Preset knows, in the order -h shows them.
var PresetNames = func() []string {
	names := []string{"quick", "code"}
	for _, s := range paperSettings {
		names = append(names, "paper-"+s.dataset)
	}
	return names
}()

// PresetDescriptions says in one line what each preset is.
var PresetDescriptions = map[string]string{
	"quick":               "default: ~7 min on a 2-core CPU; all 60000 MNIST train digits, half-width released encoder, lambda 1, digit augmentation (geometric + stroke width), 6 epochs, 2000 test digits",
	"code":                "the released code: MNIST padded to 32, d=60, five views T1..T5, 3*contrastive(+) + 8*L1 + 2*biased MMD, 400 epochs",
	"paper-mnist":         "paper Tables 1/5: d=60, lambda=8, alpha=0.25, batch 100, Adam 1e-3, 400 epochs",
	"paper-fashion-mnist": "paper: d=100, lambda=8",
	"paper-coil20":        "paper: 128x128 grey, d=160, lambda=9 (needs -data)",
	"paper-cifar10":       "paper: ResNet-50 (pretrained via -backbone), d=60, lambda=9 (needs -data)",
	"paper-stl10":         "paper: ResNet-50 at 96x96 (the paper resizes to 224), d=100, lambda=8 (needs -data)",
	"paper-imagenet10":    "paper: ResNet-50 at 224x224, d=100, lambda=8 (needs -data: an image folder)",
}

// basePaper returns the training settings the paper uses for every dataset.
func basePaper(dim int, lambda float32) TrainConfig {
	return TrainConfig{
		Encoder: "released", Width: 1, LatentDim: dim,
		Epochs: 400, BatchSize: 100, LR: 1e-3,
		Seed: 1, Loss: PaperLoss(lambda, 0.25),
	}
}

// Preset returns the named run configuration (see PresetNames). Every
// field can be changed afterwards.
func Preset(name string) (RunConfig, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	switch key {
	case "quick":
		// lambda 1 rather than the paper's 8: with this loss normalisation
		// lambda 8 learns MNIST far more slowly in a short budget (10k
		// digits, 3 epochs, CPU backend: ACC 0.37 at lambda 8, 0.56 at 2,
		// 0.74 at 1).
		// The augmentation is "auto", which for MNIST is DigitsPipeline:
		// the paper's geometric transforms plus a random stroke width,
		// without which the short run splits digits by pen width (see
		// DigitsPipeline).
		tc := basePaper(60, 1)
		tc.Width = 0.5
		tc.Epochs = 6
		tc.EvalBatch = 200
		return RunConfig{
			Preset: key, Augment: "auto", Views: 1, Train: tc,
			Data: DataConfig{Dataset: "mnist", TrainSplit: SplitTrain, TestSplit: SplitTest, Pad: 2,
				TestLimit: 2000},
		}, nil
	case "code":
		tc := basePaper(60, 3)
		tc.Loss = CodeLoss()
		tc.EvalBatchStats = true
		return RunConfig{
			Preset: key, Augment: "released", Views: 5, Train: tc,
			Data: DataConfig{Dataset: "mnist", TrainSplit: SplitTrain, TestSplit: SplitTest, Pad: 2, TestPerClass: 890},
		}, nil
	}
	if ds, ok := strings.CutPrefix(key, "paper-"); ok {
		ds = canonicalDataset(ds)
		for _, s := range paperSettings {
			if s.dataset != ds {
				continue
			}
			tc := basePaper(s.dim, s.lambda)
			tc.Encoder = s.encoder
			aug := "auto"
			if ds == "mnist" {
				aug = "geometric" // the paper's transforms only (auto adds stroke width)
			}
			return RunConfig{
				Preset: "paper-" + ds, Augment: aug, Views: 1, Train: tc,
				Data: DataConfig{Dataset: ds, TrainSplit: s.trainSplit, TestSplit: s.testSplit,
					Pad: s.pad, Size: s.size, Channels: s.channels},
			}, nil
		}
	}
	return RunConfig{}, fmt.Errorf("unknown preset %q (want one of %s)", name, strings.Join(PresetNames, ", "))
}

// canonicalDataset maps the aliases Load accepts to the names the presets
// use.
func canonicalDataset(name string) string {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "fashion-mnist", "fashion", "fmnist", "fashionmnist":
		return "fashion-mnist"
	case "cifar10", "cifar-10":
		return "cifar10"
	case "stl10", "stl-10":
		return "stl10"
	case "coil20", "coil-20", "coil":
		return "coil20"
	case "imagenet10", "imagenet-10":
		return "imagenet10"
	case "folder", "imagefolder":
		return "folder"
	}
	return strings.ToLower(strings.TrimSpace(name))
}

// RunCentroids returns the PEDCC centroids a Trainer built from cfg uses
// for classes clusters (the PEDCC seed derives from the run's seed when
// cfg.PEDCC.Seed is 0), so that a trained encoder can be evaluated without
// a Trainer.
func RunCentroids(cfg TrainConfig, classes int) (*Centroids, error) {
	pc := cfg.PEDCC
	if pc.Seed == 0 {
		pc.Seed = cfg.Seed + 2
	}
	return NewPEDCC(classes, cfg.LatentDim, pc)
}

// PaperPresetFor returns the paper preset of a dataset, or false when the
// paper has none (e.g. an image folder).
func PaperPresetFor(dataset string) (RunConfig, bool) {
	c, err := Preset("paper-" + canonicalDataset(dataset))
	return c, err == nil
}

// AblationColumn is one column of the paper's Table 6.
type AblationColumn struct {
	// Name is the column heading.
	Name string
	// UseContrastive and Distance configure the column: the contrastive
	// loss on or off, and the distance it (and, with the literal setting,
	// the MMD kernel) uses.
	UseContrastive bool
	Distance       Distance
}

// Table6Columns are the four columns of the paper's Table 6 ablation:
// MMD only (the paper's "MMD only, composite"), and MMD + contrastive with
// the composite, Euclidean and plain cosine distances.
var Table6Columns = []AblationColumn{
	{"MMD only", false, Composite},
	{"MMD+con composite", true, Composite},
	{"MMD+con Euclidean", true, Euclidean},
	{"MMD+con cosine", true, Cosine},
}

// Apply returns cfg changed to this column. With literal set the column's
// distance also replaces the distance in the MMD kernel (the paper's
// wording); otherwise the MMD keeps cfg's distance (the default, since the
// composite distance in the Gaussian kernel does not learn; reference
// §12).
func (a AblationColumn) Apply(cfg TrainConfig, literal bool) TrainConfig {
	cfg.Loss.UseMMD = true
	cfg.Loss.UseContrastive = a.UseContrastive
	cfg.Loss.ContrastiveDistance = a.Distance
	if !a.UseContrastive {
		cfg.Loss.L1Weight = 0
	}
	if literal {
		cfg.Loss.MMDDistance = a.Distance
	}
	return cfg
}

// Table6Paper holds the paper's Table 6 (ACC, NMI) per dataset and column.
var Table6Paper = map[string][4][2]float64{
	"mnist":         {{.398, .312}, {.994, .985}, {.981, .961}, {.982, .965}},
	"fashion-mnist": {{.467, .354}, {.737, .714}, {.725, .699}, {.722, .693}},
	"coil20":        {{.410, .561}, {.960, .982}, {.920, .960}, {.920, .958}},
	"cifar10":       {{.124, .113}, {.298, .182}, {.278, .172}, {.273, .163}},
	"stl10":         {{.186, .157}, {.551, .525}, {.535, .519}, {.540, .522}},
	"imagenet10":    {{.152, .234}, {.412, .375}, {.401, .349}, {.405, .356}},
}

// Table6For returns the paper's Table 6 row of a dataset.
func Table6For(dataset string) ([4][2]float64, bool) {
	r, ok := Table6Paper[canonicalDataset(dataset)]
	return r, ok
}
