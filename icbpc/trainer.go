package icbpc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/vkgrad/vkgrad/autograd"
	"github.com/vkgrad/vkgrad/nn"
	"github.com/vkgrad/vkgrad/tensor"
)

// ViewMaker makes augmented views of a batch of images.
type ViewMaker interface {
	// Views is the number of augmented views made of each image.
	Views() int
	// Make fills views[v] (each n*s.Len() values) with view v of each of the
	// n images in src (n*s.Len() values in [-1, 1], NCHW). The result is a
	// function of (src, seed) only.
	Make(views [][]float32, src []float32, s Shape, n int, seed uint64)
}

// TrainConfig is everything that decides a training run except the data.
type TrainConfig struct {
	// Encoder is "released" (the authors' code), "table3" (the paper's
	// Table 3), "resnet18" or "resnet50".
	Encoder string `json:"encoder"`
	// Width multiplies the encoder's channel counts (1; 0.5 = half width).
	Width float64 `json:"width"`
	// LatentDim is d.
	LatentDim int `json:"latent_dim"`
	// Epochs, BatchSize and LR are the training schedule (400, 100, 1e-3).
	Epochs    int     `json:"epochs"`
	BatchSize int     `json:"batch_size"`
	LR        float32 `json:"lr"`
	// StepsPerEpoch caps the steps of an epoch (0: one pass over the data).
	StepsPerEpoch int `json:"steps_per_epoch"`
	// Seed decides initialisation, PEDCC, shuffling, augmentation and
	// negatives: a run is a function of (config, data, seed).
	Seed uint64 `json:"seed"`
	// Loss holds the loss switches.
	Loss LossConfig `json:"loss"`
	// PEDCC configures the centroids (its Seed is derived from Seed when 0).
	PEDCC PEDCCOptions `json:"pedcc"`
	// EvalBatchStats evaluates with batch-norm using the statistics of each
	// evaluation batch (what the released code does) instead of the running
	// statistics.
	EvalBatchStats bool `json:"eval_batch_stats"`
	// EvalBatch is the evaluation batch size (0: BatchSize).
	EvalBatch int `json:"eval_batch"`
}

// Validate reports settings that cannot run.
func (c TrainConfig) Validate(views int) error {
	switch {
	case c.LatentDim <= 0:
		return fmt.Errorf("latent dimension must be positive, got %d", c.LatentDim)
	case c.Epochs < 0:
		return fmt.Errorf("epochs must be >= 0, got %d", c.Epochs)
	case c.BatchSize < 2:
		return fmt.Errorf("batch size must be at least 2, got %d", c.BatchSize)
	case !(c.LR > 0):
		return fmt.Errorf("learning rate must be positive, got %v", c.LR)
	case c.StepsPerEpoch < 0:
		return fmt.Errorf("steps per epoch must be >= 0, got %d", c.StepsPerEpoch)
	}
	return c.Loss.Validate(views)
}

// NewEncoder builds the configured encoder for images of shape s.
func NewEncoder(b tensor.Backend, rng *rand.Rand, name string, s Shape, d int, width float64) (*nn.Encoder, error) {
	if s.H != s.W {
		return nil, fmt.Errorf("encoder: images must be square, got %v", s)
	}
	cfg := nn.EncoderConfig{InChannels: s.C, InputSize: s.H, LatentDim: d, Width: width}
	switch name {
	case "", "released":
		return nn.NewReleasedEncoder(b, rng, cfg)
	case "table3":
		return nn.NewTable3Encoder(b, rng, cfg)
	case "resnet18":
		return nn.NewResNet18Encoder(b, rng, cfg)
	case "resnet50":
		return nn.NewResNet50Encoder(b, rng, cfg)
	}
	return nil, fmt.Errorf("encoder: unknown encoder %q (want released, table3, resnet18 or resnet50)", name)
}

// Trainer trains an ICBPC encoder. All randomness of a step is derived from
// (Seed, step), and the sample order of an epoch from (Seed, epoch), so a
// run resumed from a checkpoint continues exactly as the uninterrupted run
// would (bit-identical on the CPU backend).
type Trainer struct {
	Config    TrainConfig
	Backend   tensor.Backend
	Model     *nn.Encoder
	Opt       *nn.Adam
	Centroids *Centroids
	Augment   ViewMaker
	Data      *Dataset

	cent  *tensor.Tensor // [C, d] on the backend
	Epoch int            // completed epochs
	Step  int64          // optimizer steps taken
}

// StepInfo reports one training step.
type StepInfo struct {
	Epoch, Step, StepInEpoch, StepsInEpoch int
	Images                                 int // images (originals) in the step
	Loss, MMD, Contrastive, L1             float64
}

// EpochStats summarises an epoch.
type EpochStats struct {
	Epoch                      int
	Steps                      int
	Loss, MMD, Contrastive, L1 float64 // means over the epoch's steps
}

// ErrNaNLoss is returned (wrapped, naming the step) when the loss is not finite.
var ErrNaNLoss = errors.New("loss is not finite")

// NewTrainer builds the encoder, the optimizer and the centroids for data.
func NewTrainer(cfg TrainConfig, b tensor.Backend, data *Dataset, aug ViewMaker) (*Trainer, error) {
	views := 0
	if aug != nil {
		views = aug.Views()
	}
	if err := cfg.Validate(views); err != nil {
		return nil, err
	}
	if data.Len() < cfg.BatchSize {
		return nil, fmt.Errorf("dataset %s has %d images, fewer than one batch of %d", data.Name, data.Len(), cfg.BatchSize)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	model, err := NewEncoder(b, rng, cfg.Encoder, data.Shape(), cfg.LatentDim, cfg.Width)
	if err != nil {
		return nil, err
	}
	pc := cfg.PEDCC
	if pc.Seed == 0 {
		pc.Seed = cfg.Seed + 2
	}
	cent, err := NewPEDCC(data.Classes, cfg.LatentDim, pc)
	if err != nil {
		return nil, err
	}
	ac := nn.DefaultAdamConfig()
	ac.LR = cfg.LR
	opt, err := nn.NewAdam(model.Params(), ac)
	if err != nil {
		return nil, err
	}
	t := &Trainer{Config: cfg, Backend: b, Model: model, Opt: opt, Centroids: cent, Augment: aug, Data: data}
	// The centroids live as long as the trainer: keep them out of the
	// per-step pool.
	tensor.Persistent(b, func() { t.cent = tensor.FromSlice(b, cent.Float32(), cent.Classes, cent.Dim) })
	return t, nil
}

// StepsPerEpoch is the number of optimizer steps in one epoch (the last
// incomplete batch is dropped: batch-norm and the negative pairs need full
// batches).
func (t *Trainer) StepsPerEpoch() int {
	n := t.Data.Len() / t.Config.BatchSize
	if t.Config.StepsPerEpoch > 0 && t.Config.StepsPerEpoch < n {
		n = t.Config.StepsPerEpoch
	}
	return n
}

// order returns the sample order of an epoch.
func (t *Trainer) order(epoch int) []int {
	rng := rand.New(rand.NewPCG(t.Config.Seed, uint64(epoch)+1<<32))
	return rng.Perm(t.Data.Len())
}

// RunEpoch trains one epoch, continuing mid-epoch when Step says a previous
// run stopped there. onStep (optional) sees every step. When ctx is
// cancelled it returns ctx.Err() after the step in progress, with the model
// and Step consistent for a checkpoint.
func (t *Trainer) RunEpoch(ctx context.Context, onStep func(StepInfo)) (EpochStats, error) {
	spe := t.StepsPerEpoch()
	start := int(t.Step - int64(t.Epoch)*int64(spe))
	if start < 0 || start > spe {
		return EpochStats{}, fmt.Errorf("trainer: step %d does not fall in epoch %d (%d steps per epoch)", t.Step, t.Epoch, spe)
	}
	order := t.order(t.Epoch)
	st := EpochStats{Epoch: t.Epoch}
	for s := start; s < spe; s++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		idx := order[s*t.Config.BatchSize : (s+1)*t.Config.BatchSize]
		info, err := t.TrainStep(idx)
		if err != nil {
			return st, err
		}
		info.Epoch, info.StepInEpoch, info.StepsInEpoch = t.Epoch, s, spe
		st.Steps++
		st.Loss += info.Loss
		st.MMD += info.MMD
		st.Contrastive += info.Contrastive
		st.L1 += info.L1
		if onStep != nil {
			onStep(info)
		}
	}
	if st.Steps > 0 {
		n := float64(st.Steps)
		st.Loss, st.MMD, st.Contrastive, st.L1 = st.Loss/n, st.MMD/n, st.Contrastive/n, st.L1/n
	}
	t.Epoch++
	return st, nil
}

// TrainStep runs one step on the samples idx: augment, encode the originals
// and their views in one batch, evaluate the loss, backpropagate and update.
// On a non-finite loss it returns an error wrapping ErrNaNLoss before the
// parameters are touched.
func (t *Trainer) TrainStep(idx []int) (StepInfo, error) {
	s := t.Data.Shape()
	n := len(idx)
	per := s.Len()
	views := 0
	if t.Augment != nil {
		views = t.Augment.Views()
	}
	host := make([]float32, n*per*(views+1))
	t.Data.Batch(idx, host[:n*per], nil)
	seed := stepSeed(t.Config.Seed, t.Step)
	if views > 0 {
		vs := make([][]float32, views)
		for v := range vs {
			vs[v] = host[(v+1)*n*per : (v+2)*n*per]
		}
		t.Augment.Make(vs, host[:n*per], s, n, seed)
	}
	info := StepInfo{Step: int(t.Step), Images: n}
	err := tensor.Try(func() {
		t.Model.SetTraining(true)
		x := autograd.Const(tensor.FromSlice(t.Backend, host, n*(views+1), s.C, s.H, s.W))
		z := t.Model.Forward(x)
		sizes := make([]int, views+1)
		for i := range sizes {
			sizes[i] = n
		}
		feats := autograd.Split(z, 0, sizes...)
		parts := t.Config.Loss.Loss(feats, t.cent, rand.New(rand.NewPCG(seed, 7)))
		info.Loss = float64(parts.Total.Item()) // the one host read (and flush) of the step
		if math.IsNaN(info.Loss) || math.IsInf(info.Loss, 0) {
			return
		}
		if parts.MMD != nil {
			info.MMD = float64(parts.MMD.Item())
		}
		if parts.Contrastive != nil {
			info.Contrastive = float64(parts.Contrastive.Item())
		}
		if parts.L1 != nil {
			info.L1 = float64(parts.L1.Item())
		}
		t.Opt.ZeroGrad()
		if err := parts.Total.Backward(); err != nil {
			panic(&tensor.OpError{Op: "icbpc.TrainStep", Err: err})
		}
	})
	if err != nil {
		return info, fmt.Errorf("step %d: %w", t.Step, err)
	}
	if math.IsNaN(info.Loss) || math.IsInf(info.Loss, 0) {
		return info, fmt.Errorf("step %d (epoch %d): %w (%v)", t.Step, t.Epoch, ErrNaNLoss, info.Loss)
	}
	if err := t.Opt.Step(); err != nil {
		return info, fmt.Errorf("step %d: optimizer: %w", t.Step, err)
	}
	t.Step++
	return info, nil
}

func stepSeed(seed uint64, step int64) uint64 {
	// SplitMix64 finaliser of (seed, step).
	z := seed ^ (uint64(step)+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Evaluation is the result of clustering a dataset with the trained encoder.
type Evaluation struct {
	Scores    Scores
	Confusion *Confusion
	// Assign is the cluster (index of the nearest centroid) of each sample.
	Assign []int
	// Features are the latent vectors (row-major Len x d) when requested.
	Features []float32
}

// Evaluate assigns every image of d to the centroid of largest cosine and
// scores the assignment against the labels. keepFeatures keeps the latent
// vectors (for plots).
func (t *Trainer) Evaluate(d *Dataset, keepFeatures bool) (*Evaluation, error) {
	return EvaluateEncoder(t.Model, t.cent, d, t.evalBatch(), t.Config.EvalBatchStats, keepFeatures)
}

func (t *Trainer) evalBatch() int {
	if t.Config.EvalBatch > 0 {
		return t.Config.EvalBatch
	}
	return t.Config.BatchSize
}

// EvaluateEncoder clusters d with model against the centroids cent [C, d]
// (on the model's backend).
func EvaluateEncoder(model *nn.Encoder, cent *tensor.Tensor, d *Dataset, batch int, batchStats, keepFeatures bool) (*Evaluation, error) {
	if batch < 1 {
		batch = 100
	}
	s := d.Shape()
	b := cent.Backend()
	ev := &Evaluation{Assign: make([]int, d.Len())}
	dim := cent.Dim(1)
	if keepFeatures {
		ev.Features = make([]float32, d.Len()*dim)
	}
	model.SetTraining(batchStats)
	defer model.SetTraining(true)
	host := make([]float32, batch*s.Len())
	idx := make([]int, 0, batch)
	err := tensor.Try(func() {
		autograd.NoGrad(func() {
			for lo := 0; lo < d.Len(); lo += batch {
				hi := min(lo+batch, d.Len())
				if batchStats && hi-lo < 2 {
					lo = max(0, hi-2) // batch statistics need two images
				}
				idx = idx[:0]
				for i := lo; i < hi; i++ {
					idx = append(idx, i)
				}
				m := len(idx)
				d.Batch(idx, host[:m*s.Len()], nil)
				x := autograd.Const(tensor.FromSlice(b, host[:m*s.Len()], m, s.C, s.H, s.W))
				z := model.Forward(x).Value
				a := tensor.Argmax(tensor.MatMulT(z, cent, false, true), 1, false).Int32s()
				for i, c := range a {
					ev.Assign[lo+i] = int(c)
				}
				if keepFeatures {
					copy(ev.Features[lo*dim:], z.Float32s())
				}
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", d.Name, err)
	}
	conf, err := NewConfusion(d.Labels, ev.Assign)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", d.Name, err)
	}
	ev.Confusion = conf
	ev.Scores = conf.Scores()
	return ev, nil
}

// Save writes a checkpoint of the model, the optimizer and the training
// position (atomically: a crash never leaves a half-written file).
func (t *Trainer) Save(path string) error {
	return nn.SaveCheckpoint(path, t.Model, t.Opt, nn.Meta{
		Step: t.Step, Epoch: t.Epoch,
		Extra: map[string]string{"seed": strconv.FormatUint(t.Config.Seed, 10), "encoder": t.Model.Kind},
	})
}

// Load restores a checkpoint written by Save into this trainer.
func (t *Trainer) Load(path string) error {
	meta, err := nn.LoadCheckpoint(path, t.Model, t.Opt)
	if err != nil {
		return err
	}
	if s := meta.Extra["seed"]; s != "" && s != strconv.FormatUint(t.Config.Seed, 10) {
		return fmt.Errorf("checkpoint %s was trained with seed %s, this run uses %d", path, s, t.Config.Seed)
	}
	t.Step, t.Epoch = meta.Step, meta.Epoch
	return nil
}
