package icbpc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Shape is the channel, height and width of one image (CHW layout).
type Shape struct {
	C, H, W int
}

// Len is the number of values of one image, C*H*W.
func (s Shape) Len() int { return s.C * s.H * s.W }

// String formats the shape as CxHxW.
func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W) }

// Dataset is a labelled image set held in memory. Pixels are uint8 in NCHW
// order (sample, channel, row, column; 0 is black) so that 70 000 MNIST
// digits take 55 MB and 13 000 STL-10 images 360 MB. Image and Batch convert
// to float32 in [-1, 1] (p/127.5 - 1, torchvision's ToTensor followed by
// Normalize(0.5, 0.5)), which is what the encoder and the augmentations
// consume.
//
// A Dataset is a plain value: loaders fill it, and Subset, Concat, Pad and
// the split helpers return new ones. Treat Pixels as read-only once shared.
type Dataset struct {
	Name       string   // e.g. "mnist/train"
	Pixels     []uint8  // Len()*C*H*W values, NCHW
	Labels     []int    // one per sample, in 0..Classes-1
	Classes    int      // number of classes (clusters to find)
	C, H, W    int      // image shape
	ClassNames []string // optional, len Classes
	Paths      []string // source file of each sample (image folders); nil for packed formats
}

// Len is the number of samples.
func (d *Dataset) Len() int { return len(d.Labels) }

// Shape returns the image shape.
func (d *Dataset) Shape() Shape { return Shape{d.C, d.H, d.W} }

// Label returns the label of sample i.
func (d *Dataset) Label(i int) int { return d.Labels[i] }

// Raw returns the uint8 pixels of sample i (a view into Pixels).
func (d *Dataset) Raw(i int) []uint8 {
	n := d.Shape().Len()
	return d.Pixels[i*n : (i+1)*n]
}

// toUnit maps a uint8 pixel to [-1, 1].
var toUnit = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i)/127.5 - 1
	}
	return t
}()

// Image writes sample i as float32 in [-1, 1] (CHW) into dst, which must
// hold at least C*H*W values.
func (d *Dataset) Image(i int, dst []float32) {
	src := d.Raw(i)
	dst = dst[:len(src)]
	for k, p := range src {
		dst[k] = toUnit[p]
	}
}

// Batch writes the samples idx as float32 in [-1, 1] into dst (NCHW, at
// least len(idx)*C*H*W values) and, if labels is not nil, their labels into
// labels[:len(idx)].
func (d *Dataset) Batch(idx []int, dst []float32, labels []int) {
	n := d.Shape().Len()
	for b, i := range idx {
		d.Image(i, dst[b*n:(b+1)*n])
		if labels != nil {
			labels[b] = d.Labels[i]
		}
	}
}

// ClassCounts returns the number of samples of each class.
func (d *Dataset) ClassCounts() []int {
	c := make([]int, d.Classes)
	for _, l := range d.Labels {
		if l >= 0 && l < d.Classes {
			c[l]++
		}
	}
	return c
}

// Validate checks the invariants: a positive shape, pixel and label counts
// that agree, labels in range, and optional slices of the right length.
func (d *Dataset) Validate() error {
	s := d.Shape()
	switch {
	case s.C <= 0 || s.H <= 0 || s.W <= 0:
		return fmt.Errorf("dataset %s: bad image shape %v", d.Name, s)
	case d.Classes <= 0:
		return fmt.Errorf("dataset %s: %d classes", d.Name, d.Classes)
	case len(d.Pixels) != len(d.Labels)*s.Len():
		return fmt.Errorf("dataset %s: %d pixel values for %d images of %v", d.Name, len(d.Pixels), len(d.Labels), s)
	case d.ClassNames != nil && len(d.ClassNames) != d.Classes:
		return fmt.Errorf("dataset %s: %d class names for %d classes", d.Name, len(d.ClassNames), d.Classes)
	case d.Paths != nil && len(d.Paths) != len(d.Labels):
		return fmt.Errorf("dataset %s: %d paths for %d samples", d.Name, len(d.Paths), len(d.Labels))
	}
	for i, l := range d.Labels {
		if l < 0 || l >= d.Classes {
			return fmt.Errorf("dataset %s: sample %d: label %d out of range 0..%d", d.Name, i, l, d.Classes-1)
		}
	}
	return nil
}

// Subset returns a new dataset holding copies of the samples idx, in that
// order.
func (d *Dataset) Subset(idx []int) *Dataset {
	n := d.Shape().Len()
	out := &Dataset{Name: d.Name, Classes: d.Classes, C: d.C, H: d.H, W: d.W, ClassNames: d.ClassNames,
		Pixels: make([]uint8, 0, len(idx)*n), Labels: make([]int, 0, len(idx))}
	if d.Paths != nil {
		out.Paths = make([]string, 0, len(idx))
	}
	for _, i := range idx {
		out.Pixels = append(out.Pixels, d.Raw(i)...)
		out.Labels = append(out.Labels, d.Labels[i])
		if d.Paths != nil {
			out.Paths = append(out.Paths, d.Paths[i])
		}
	}
	return out
}

// Concat joins datasets of the same shape and class count into one named
// name (the "all" protocol is Concat of train and test).
func Concat(name string, parts ...*Dataset) (*Dataset, error) {
	if len(parts) == 0 {
		return nil, errors.New("dataset: nothing to concatenate")
	}
	first := parts[0]
	out := &Dataset{Name: name, Classes: first.Classes, C: first.C, H: first.H, W: first.W, ClassNames: first.ClassNames}
	withPaths := true
	total := 0
	for _, p := range parts {
		if p.Shape() != first.Shape() || p.Classes != first.Classes {
			return nil, fmt.Errorf("dataset: cannot concatenate %s (%v, %d classes) with %s (%v, %d classes)",
				p.Name, p.Shape(), p.Classes, first.Name, first.Shape(), first.Classes)
		}
		withPaths = withPaths && p.Paths != nil
		total += len(p.Pixels)
	}
	out.Pixels = make([]uint8, 0, total)
	for _, p := range parts {
		out.Pixels = append(out.Pixels, p.Pixels...)
		out.Labels = append(out.Labels, p.Labels...)
		if withPaths {
			out.Paths = append(out.Paths, p.Paths...)
		}
	}
	return out, nil
}

// Pad returns a copy with p background (0) pixels added on every side, e.g.
// Pad(2) turns 28x28 MNIST into the 32x32 input of the released encoder
// (torchvision Pad(2, fill 0)). Pad(0) returns d itself.
func (d *Dataset) Pad(p int) *Dataset {
	if p <= 0 {
		return d
	}
	out := *d
	out.H, out.W = d.H+2*p, d.W+2*p
	out.Pixels = make([]uint8, d.Len()*d.C*out.H*out.W)
	for i := 0; i < d.Len(); i++ {
		for c := 0; c < d.C; c++ {
			for y := 0; y < d.H; y++ {
				src := d.Pixels[((i*d.C+c)*d.H+y)*d.W:][:d.W]
				dst := out.Pixels[((i*d.C+c)*out.H+y+p)*out.W+p:][:d.W]
				copy(dst, src)
			}
		}
	}
	return &out
}

// SplitStratified splits the samples into a training and a held-out set,
// holding out round(testFraction * count) samples of every class, chosen by
// a seeded shuffle. Both keep the original sample order.
func (d *Dataset) SplitStratified(testFraction float64, seed uint64) (train, test *Dataset, err error) {
	if !(testFraction > 0 && testFraction < 1) {
		return nil, nil, fmt.Errorf("dataset %s: test fraction %v not in (0, 1)", d.Name, testFraction)
	}
	byClass := make([][]int, d.Classes)
	for i, l := range d.Labels {
		byClass[l] = append(byClass[l], i)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed5))
	isTest := make([]bool, d.Len())
	for _, idx := range byClass {
		k := int(float64(len(idx))*testFraction + 0.5)
		perm := rng.Perm(len(idx))
		for _, p := range perm[:k] {
			isTest[idx[p]] = true
		}
	}
	var tr, te []int
	for i, t := range isTest {
		if t {
			te = append(te, i)
		} else {
			tr = append(tr, i)
		}
	}
	train, test = d.Subset(tr), d.Subset(te)
	train.Name, test.Name = splitName(d.Name, SplitTrain), splitName(d.Name, SplitTest)
	return train, test, nil
}

// Balanced returns a class-balanced subset with perClass samples of every
// class drawn by a seeded shuffle, in the original order (like the
// authors' 890-per-class MNIST test folder). It fails if a class has fewer
// samples.
func (d *Dataset) Balanced(perClass int, seed uint64) (*Dataset, error) {
	byClass := make([][]int, d.Classes)
	for i, l := range d.Labels {
		byClass[l] = append(byClass[l], i)
	}
	rng := rand.New(rand.NewPCG(seed, 0xba1a))
	var keep []int
	for c, idx := range byClass {
		if len(idx) < perClass {
			return nil, fmt.Errorf("dataset %s: class %d has %d samples, fewer than %d", d.Name, c, len(idx), perClass)
		}
		for _, p := range rng.Perm(len(idx))[:perClass] {
			keep = append(keep, idx[p])
		}
	}
	slices.Sort(keep)
	out := d.Subset(keep)
	out.Name = fmt.Sprintf("%s/balanced%d", d.Name, perClass)
	return out, nil
}

// Split selects which part of a dataset to load.
type Split string

const (
	// SplitAll is the clustering protocol of most papers: train and test
	// concatenated (70 000 MNIST digits). It is what the zero value means.
	SplitAll Split = "all"
	// SplitTrain is the official training split.
	SplitTrain Split = "train"
	// SplitTest is the official test split (ICBPC evaluates on held-out
	// test images).
	SplitTest Split = "test"
)

func (s Split) normalize() (Split, error) {
	switch s {
	case "", SplitAll:
		return SplitAll, nil
	case SplitTrain, SplitTest:
		return s, nil
	}
	return "", fmt.Errorf("dataset: unknown split %q (want train, test or all)", string(s))
}

func splitName(base string, s Split) string { return base + "/" + string(s) }

// LoadOptions configures the loaders. The zero value loads the whole
// dataset (SplitAll) at its native size from the default location.
type LoadOptions struct {
	// Dir is the data folder. Empty means the default: the embedded copy
	// for MNIST and /usr/share/datasets/fashion-mnist for Fashion-MNIST;
	// the other datasets need a folder.
	Dir string
	// Split selects train, test or all (the zero value means all).
	Split Split
	// Pad adds this many background pixels on every side after loading
	// (2 turns 28x28 digits into the released encoder's 32x32).
	Pad int
	// Size resizes image-folder and COIL images to Size x Size. Zero keeps
	// the native size, and then all images of a folder must be equal.
	Size int
	// CenterCrop resizes the shorter side to Size and crops the centre
	// instead of stretching (image folders only).
	CenterCrop bool
	// Channels forces 1 (grey, ITU-R 601 luma as PIL's "L") or 3 (RGB) for
	// image folders and COIL; 0 picks grey when every image is grey.
	Channels int
	// TestFraction is the per-class fraction held out as the test split
	// for sets without an official split (COIL-20, image folders without
	// train/ and test/ subfolders). Zero means 0.2.
	TestFraction float64
	// SplitSeed seeds that held-out selection.
	SplitSeed uint64
	// Workers bounds the goroutines decoding image files (0: GOMAXPROCS).
	Workers int
}

// DefaultFashionMNISTDir is where Debian's dataset-fashion-mnist package
// installs the Fashion-MNIST IDX files.
const DefaultFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// DatasetNames lists the names Load accepts.
var DatasetNames = []string{"mnist", "fashion-mnist", "cifar10", "stl10", "coil20", "imagenet10", "folder"}

// Load loads a dataset by name: mnist (embedded), fashion-mnist, cifar10,
// stl10, coil20, imagenet10 (an image folder of the ten ImageNet-10
// classes) or folder (any ImageFolder tree). Names are case-insensitive and
// "fmnist", "cifar-10", "stl-10" and "coil-20" are accepted too.
func Load(name string, opt LoadOptions) (*Dataset, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "mnist":
		return LoadMNIST(opt)
	case "fashion-mnist", "fashion", "fmnist", "fashionmnist":
		return LoadFashionMNIST(opt)
	case "cifar10", "cifar-10":
		return LoadCIFAR10(opt)
	case "stl10", "stl-10":
		return LoadSTL10(opt)
	case "coil20", "coil-20", "coil":
		return LoadCOIL20(opt)
	case "imagenet10", "imagenet-10":
		d, err := LoadImageFolder(opt)
		if err != nil {
			return nil, err
		}
		d.Name = strings.Replace(d.Name, "folder", "imagenet10", 1)
		return d, nil
	case "folder", "imagefolder":
		return LoadImageFolder(opt)
	}
	return nil, fmt.Errorf("dataset: unknown dataset %q (want one of %s)", name, strings.Join(DatasetNames, ", "))
}

// finish applies the options common to every loader and validates.
func finish(d *Dataset, opt LoadOptions) (*Dataset, error) {
	d = d.Pad(opt.Pad)
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// loadSplits loads the official train and test parts as needed by split.
func loadSplits(base string, split Split, load func(Split) (*Dataset, error)) (*Dataset, error) {
	split, err := split.normalize()
	if err != nil {
		return nil, err
	}
	if split != SplitAll {
		d, err := load(split)
		if err != nil {
			return nil, err
		}
		d.Name = splitName(base, split)
		return d, nil
	}
	tr, err := load(SplitTrain)
	if err != nil {
		return nil, err
	}
	te, err := load(SplitTest)
	if err != nil {
		return nil, err
	}
	return Concat(splitName(base, SplitAll), tr, te)
}

// selectHeldOut implements Split for sets without an official split.
func selectHeldOut(d *Dataset, opt LoadOptions) (*Dataset, error) {
	split, err := opt.Split.normalize()
	if err != nil {
		return nil, err
	}
	base := d.Name
	if split == SplitAll {
		d.Name = splitName(base, SplitAll)
		return d, nil
	}
	frac := opt.TestFraction
	if frac == 0 {
		frac = 0.2
	}
	tr, te, err := d.SplitStratified(frac, opt.SplitSeed)
	if err != nil {
		return nil, err
	}
	if split == SplitTrain {
		return tr, nil
	}
	return te, nil
}
