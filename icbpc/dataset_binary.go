package icbpc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CIFAR-10 and STL-10 binary versions.

var cifarClassNames = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
var stlClassNames = []string{"airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"}

const (
	cifarSide   = 32
	cifarRecord = 1 + 3*cifarSide*cifarSide // label byte + R, G, B planes
	stlSide     = 96
	stlImage    = 3 * stlSide * stlSide
)

// subdirIfPresent returns dir/sub if dir itself does not hold probe but
// dir/sub does (the folder an archive extracts to).
func subdirIfPresent(dir, probe, sub string) string {
	if _, err := os.Stat(filepath.Join(dir, probe)); err == nil {
		return dir
	}
	if _, err := os.Stat(filepath.Join(dir, sub, probe)); err == nil {
		return filepath.Join(dir, sub)
	}
	return dir
}

func needDir(name, dir string) error {
	if dir == "" {
		return fmt.Errorf("%s: no data folder given (set it to the extracted %s files)", name, name)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s: data folder %s does not exist", name, dir)
	}
	return nil
}

// readClassNames reads one name per line from path, if the file exists and
// holds exactly want names; otherwise it returns fallback.
func readClassNames(path string, want int, fallback []string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fallback
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	if len(names) != want {
		return fallback
	}
	return names
}

// LoadCIFAR10 loads the binary version of CIFAR-10 from opt.Dir (the
// cifar-10-batches-bin folder, or its parent): data_batch_1..5.bin for
// train (50 000) and test_batch.bin for test (10 000), records of one label
// byte and 3x32x32 planar RGB pixels.
func LoadCIFAR10(opt LoadOptions) (*Dataset, error) {
	if err := needDir("cifar10", opt.Dir); err != nil {
		return nil, err
	}
	dir := subdirIfPresent(opt.Dir, "test_batch.bin", "cifar-10-batches-bin")
	names := readClassNames(filepath.Join(dir, "batches.meta.txt"), 10, cifarClassNames)
	d, err := loadSplits("cifar10", opt.Split, func(s Split) (*Dataset, error) {
		files := []string{"test_batch.bin"}
		if s == SplitTrain {
			files = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
		}
		d := &Dataset{Classes: 10, C: 3, H: cifarSide, W: cifarSide, ClassNames: names}
		for _, f := range files {
			if err := readCIFARFile(filepath.Join(dir, f), d); err != nil {
				return nil, fmt.Errorf("cifar10: %w", err)
			}
		}
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	return finish(d, opt)
}

// readCIFARFile appends the records of one CIFAR-10 binary batch to d.
func readCIFARFile(path string, d *Dataset) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return fmt.Errorf("%s: empty file", path)
	}
	if len(b)%cifarRecord != 0 {
		return fmt.Errorf("%s: truncated or not a CIFAR-10 binary batch: %d bytes is not a multiple of the %d-byte record (record %d is incomplete)",
			path, len(b), cifarRecord, len(b)/cifarRecord)
	}
	n := len(b) / cifarRecord
	for i := 0; i < n; i++ {
		rec := b[i*cifarRecord : (i+1)*cifarRecord]
		if rec[0] >= 10 {
			return fmt.Errorf("%s: sample %d: label %d out of range 0..9", path, i, rec[0])
		}
		d.Labels = append(d.Labels, int(rec[0]))
		d.Pixels = append(d.Pixels, rec[1:]...)
	}
	return nil
}

// LoadSTL10 loads the labelled part of the binary STL-10 from opt.Dir (the
// stl10_binary folder, or its parent): train_X.bin/train_y.bin (5 000) and
// test_X.bin/test_y.bin (8 000). Images are 3x96x96 stored column-major
// per channel (transposed here to row-major); labels are stored as 1..10
// and returned as 0..9. The 100 000 unlabelled images are not loaded.
func LoadSTL10(opt LoadOptions) (*Dataset, error) {
	if err := needDir("stl10", opt.Dir); err != nil {
		return nil, err
	}
	dir := subdirIfPresent(opt.Dir, "test_X.bin", "stl10_binary")
	names := readClassNames(filepath.Join(dir, "class_names.txt"), 10, stlClassNames)
	d, err := loadSplits("stl10", opt.Split, func(s Split) (*Dataset, error) {
		d, err := ReadSTL10Files(filepath.Join(dir, string(s)+"_X.bin"), filepath.Join(dir, string(s)+"_y.bin"))
		if err != nil {
			return nil, fmt.Errorf("stl10: %w", err)
		}
		d.ClassNames = names
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	return finish(d, opt)
}

// ReadSTL10Files reads one STL-10 image file (N x 3 x 96 x 96 uint8,
// column-major planes) and its label file (N bytes, 1..10).
func ReadSTL10Files(xPath, yPath string) (*Dataset, error) {
	x, err := os.ReadFile(xPath)
	if err != nil {
		return nil, err
	}
	y, err := os.ReadFile(yPath)
	if err != nil {
		return nil, err
	}
	if len(x) == 0 {
		return nil, fmt.Errorf("%s: empty file", xPath)
	}
	if len(x)%stlImage != 0 {
		return nil, fmt.Errorf("%s: truncated or not an STL-10 image file: %d bytes is not a multiple of %d (image %d is incomplete)",
			xPath, len(x), stlImage, len(x)/stlImage)
	}
	n := len(x) / stlImage
	if len(y) != n {
		return nil, fmt.Errorf("%s holds %d images but %s holds %d labels", xPath, n, yPath, len(y))
	}
	d := &Dataset{Classes: 10, C: 3, H: stlSide, W: stlSide, Pixels: make([]uint8, len(x)), Labels: make([]int, n)}
	for i := 0; i < n; i++ {
		if y[i] < 1 || y[i] > 10 {
			return nil, fmt.Errorf("%s: sample %d: label %d out of range 1..10", yPath, i, y[i])
		}
		d.Labels[i] = int(y[i]) - 1
		for c := 0; c < 3; c++ {
			src := x[i*stlImage+c*stlSide*stlSide:][:stlSide*stlSide]
			dst := d.Pixels[i*stlImage+c*stlSide*stlSide:][:stlSide*stlSide]
			for col := 0; col < stlSide; col++ {
				for row := 0; row < stlSide; row++ {
					dst[row*stlSide+col] = src[col*stlSide+row]
				}
			}
		}
	}
	return d, nil
}
