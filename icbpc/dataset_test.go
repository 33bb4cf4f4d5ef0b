package icbpc

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// idxBytes encodes an IDX file: magic 0x0800+len(dims), the dims and data.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(0x0800+len(dims)))
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// idxFixture writes a 4-image train set and a 2-image test set of 3x2
// images whose pixel (i, y, x) is 10*i + 3*y + x, gzipped or raw.
func idxFixture(t *testing.T, gzipped bool) string {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if gzipped {
			writeFile(t, filepath.Join(dir, name+".gz"), gz(b))
		} else {
			writeFile(t, filepath.Join(dir, name), b)
		}
	}
	for _, part := range []struct {
		prefix string
		n      int
		labels []byte
	}{{"train", 4, []byte{3, 1, 4, 1}}, {"t10k", 2, []byte{9, 0}}} {
		pix := make([]byte, part.n*6)
		for i := range part.n {
			for y := range 3 {
				for x := range 2 {
					pix[i*6+y*2+x] = byte(10*i + 3*y + x)
				}
			}
		}
		write(part.prefix+"-images-idx3-ubyte", idxBytes([]int{part.n, 3, 2}, pix))
		write(part.prefix+"-labels-idx1-ubyte", idxBytes([]int{part.n}, part.labels))
	}
	return dir
}

func TestIDXLoaders(t *testing.T) {
	for _, gzipped := range []bool{true, false} {
		dir := idxFixture(t, gzipped)
		for _, load := range []func(LoadOptions) (*Dataset, error){LoadMNIST, LoadFashionMNIST} {
			tr, err := load(LoadOptions{Dir: dir, Split: SplitTrain})
			if err != nil {
				t.Fatal(err)
			}
			if tr.Len() != 4 || tr.Shape() != (Shape{1, 3, 2}) || tr.Classes != 10 || len(tr.ClassNames) != 10 {
				t.Fatalf("train: %d samples of %v, %d classes", tr.Len(), tr.Shape(), tr.Classes)
			}
			if !slices.Equal(tr.Labels, []int{3, 1, 4, 1}) || tr.Raw(2)[5] != 20+3*2+1 {
				t.Errorf("train labels %v, pixel (2,2,1) = %d", tr.Labels, tr.Raw(2)[5])
			}
			te, err := load(LoadOptions{Dir: dir, Split: SplitTest})
			if err != nil {
				t.Fatal(err)
			}
			all, err := load(LoadOptions{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if te.Len() != 2 || all.Len() != 6 || !slices.Equal(all.Labels, []int{3, 1, 4, 1, 9, 0}) {
				t.Errorf("test %d, all %d samples with labels %v", te.Len(), all.Len(), all.Labels)
			}
			if !strings.HasSuffix(all.Name, "/all") || !strings.HasSuffix(te.Name, "/test") {
				t.Errorf("names %q %q", all.Name, te.Name)
			}
			padded, err := load(LoadOptions{Dir: dir, Split: SplitTest, Pad: 2})
			if err != nil {
				t.Fatal(err)
			}
			// Image 1 pixel (y=2, x=1) = 10+6+1 moves to (4, 3) of a 7x6 image.
			if padded.Shape() != (Shape{1, 7, 6}) || padded.Raw(1)[4*6+3] != 17 || padded.Raw(1)[0] != 0 {
				t.Errorf("padded %v: %v", padded.Shape(), padded.Raw(1))
			}
		}
	}
}

// TestIDXBadInput checks that broken IDX files fail with an error naming
// the file (and the sample for bad labels).
func TestIDXBadInput(t *testing.T) {
	good := idxBytes([]int{2, 3, 2}, make([]byte, 12))
	labels := idxBytes([]int{2}, []byte{1, 2})
	cases := []struct {
		name           string
		images, labels []byte
		file           string // the file the error must name
		want           string
	}{
		{"truncated images", good[:len(good)-3], labels, "train-images", "truncated"},
		{"truncated header", good[:10], labels, "train-images", "truncated"},
		{"trailing bytes", append(slices.Clone(good), 0), labels, "train-images", "unexpected bytes"},
		{"wrong magic", labels, labels, "train-images", "wrong IDX magic 2049"},
		{"not idx", []byte("hello world, not idx"), labels, "train-images", "not an IDX file"},
		{"label out of range", good, idxBytes([]int{2}, []byte{1, 10}), "train-labels", "sample 1: label 10 out of range 0..9"},
		{"count mismatch", good, idxBytes([]int{3}, []byte{1, 2, 3}), "train-labels", "holds 2 images but"},
		{"corrupt gzip", gz(good)[:20], labels, "train-images", "gzip"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "train-images-idx3-ubyte"), tc.images)
			writeFile(t, filepath.Join(dir, "train-labels-idx1-ubyte"), tc.labels)
			_, err := LoadFashionMNIST(LoadOptions{Dir: dir, Split: SplitTrain})
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), filepath.Join(dir, tc.file)) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q should name %s and say %q", err, tc.file, tc.want)
			}
		})
	}
	if _, err := LoadFashionMNIST(LoadOptions{Dir: filepath.Join(t.TempDir(), "nope")}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := LoadFashionMNIST(LoadOptions{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no train-images-idx3-ubyte") {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := LoadMNIST(LoadOptions{Split: "validation"}); err == nil || !strings.Contains(err.Error(), "unknown split") {
		t.Errorf("bad split: %v", err)
	}
}

func TestEmbeddedMNIST(t *testing.T) {
	start := time.Now()
	tr, err := LoadMNIST(LoadOptions{Split: SplitTrain})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first embedded MNIST load: %v", time.Since(start))
	te, err := LoadMNIST(LoadOptions{Split: SplitTest, Pad: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Facts of the MNIST files (LeCun et al.): sizes, class counts, first labels.
	if tr.Len() != 60000 || te.Len() != 10000 || tr.Shape() != (Shape{1, 28, 28}) || te.Shape() != (Shape{1, 32, 32}) {
		t.Fatalf("train %d %v, test %d %v", tr.Len(), tr.Shape(), te.Len(), te.Shape())
	}
	if got := tr.ClassCounts(); !slices.Equal(got, []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}) {
		t.Errorf("train class counts %v", got)
	}
	if got := te.ClassCounts(); !slices.Equal(got, []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}) {
		t.Errorf("test class counts %v", got)
	}
	if tr.Labels[0] != 5 || te.Labels[0] != 7 {
		t.Errorf("first labels %d %d, want 5 and 7", tr.Labels[0], te.Labels[0])
	}
	// The padding border is background, and the 28x28 centre is the digit.
	img := te.Raw(0)
	var border, ink int
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			if y < 2 || y >= 30 || x < 2 || x >= 30 {
				border += int(img[y*32+x])
			} else if img[y*32+x] > 128 {
				ink++
			}
		}
	}
	if border != 0 || ink < 50 {
		t.Errorf("padded test image 0: border sum %d, ink pixels %d", border, ink)
	}
	// Callers get their own copy.
	tr.Pixels[0] = 99
	again, _ := LoadMNIST(LoadOptions{Split: SplitTrain})
	if again.Pixels[0] != 0 {
		t.Error("modifying a loaded dataset changed the cache")
	}
	all, err := Load("MNIST", LoadOptions{})
	if err != nil || all.Len() != 70000 || all.Name != "mnist/all" {
		t.Fatalf("Load(mnist) all: %v %v", all, err)
	}
}

func TestFashionMNISTSystemFolder(t *testing.T) {
	if _, err := os.Stat(DefaultFashionMNISTDir); err != nil {
		t.Skipf("%s not installed (Debian package dataset-fashion-mnist); the loader is covered by TestIDXLoaders", DefaultFashionMNISTDir)
	}
	d, err := Load("fashion-mnist", LoadOptions{Split: SplitTest})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 10000 || d.Shape() != (Shape{1, 28, 28}) || d.ClassNames[9] != "Ankle boot" {
		t.Fatalf("%d images of %v", d.Len(), d.Shape())
	}
	for c, n := range d.ClassCounts() {
		if n != 1000 {
			t.Errorf("class %d has %d test images, want 1000", c, n)
		}
	}
}

func TestCIFAR10Loader(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cifar-10-batches-bin")
	record := func(label, seed byte) []byte {
		r := make([]byte, cifarRecord)
		r[0] = label
		for i := 1; i < len(r); i++ {
			r[i] = byte(int(seed)*7 + i)
		}
		return r
	}
	for k := 1; k <= 5; k++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("data_batch_%d.bin", k)), append(record(byte(k), byte(k)), record(0, 100+byte(k))...))
	}
	writeFile(t, filepath.Join(dir, "test_batch.bin"), slices.Concat(record(9, 50), record(8, 51), record(7, 52)))
	writeFile(t, filepath.Join(dir, "batches.meta.txt"), []byte("plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n"))

	tr, err := Load("cifar-10", LoadOptions{Dir: root, Split: SplitTrain})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 10 || tr.Shape() != (Shape{3, 32, 32}) || !slices.Equal(tr.Labels, []int{1, 0, 2, 0, 3, 0, 4, 0, 5, 0}) {
		t.Fatalf("train: %d of %v, labels %v", tr.Len(), tr.Shape(), tr.Labels)
	}
	// Sample 2 is record 0 of batch 2: byte i of the record at pixel index i-1; G plane starts at 1024.
	if tr.Raw(2)[1024+5] != byte((2*7+1030)%256) || tr.ClassNames[1] != "car" {
		t.Errorf("pixel G(0,5) of sample 2 = %d; class names %v", tr.Raw(2)[1029], tr.ClassNames)
	}
	all, err := LoadCIFAR10(LoadOptions{Dir: dir})
	if err != nil || all.Len() != 13 || all.Labels[10] != 9 {
		t.Fatalf("all: %v %v", all, err)
	}

	bad := func(file string, content []byte, want string) {
		t.Helper()
		p := writeFile(t, filepath.Join(dir, file), content)
		_, err := LoadCIFAR10(LoadOptions{Dir: dir, Split: SplitTest})
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming %s and saying %q", want, err, p, want)
		}
	}
	bad("test_batch.bin", append(record(1, 1), 7), "truncated")
	bad("test_batch.bin", append(record(1, 1), record(10, 2)...), "sample 1: label 10 out of range")
	bad("test_batch.bin", nil, "empty file")
	os.Remove(filepath.Join(dir, "test_batch.bin"))
	if _, err := LoadCIFAR10(LoadOptions{Dir: dir, Split: SplitTest}); err == nil || !strings.Contains(err.Error(), "test_batch.bin") {
		t.Errorf("missing test batch: %v", err)
	}
	if _, err := LoadCIFAR10(LoadOptions{}); err == nil || !strings.Contains(err.Error(), "no data folder") {
		t.Errorf("no folder: %v", err)
	}
}

func TestSTL10Loader(t *testing.T) {
	dir := t.TempDir()
	// Two images with row-major pixel value (c*13 + y*5 + x) % 256, stored column-major.
	rowMajor := func(i int) []byte {
		b := make([]byte, stlImage)
		for c := range 3 {
			for y := range stlSide {
				for x := range stlSide {
					b[c*stlSide*stlSide+y*stlSide+x] = byte(i + c*13 + y*5 + x)
				}
			}
		}
		return b
	}
	colMajor := func(rm []byte) []byte {
		b := make([]byte, len(rm))
		for c := range 3 {
			for y := range stlSide {
				for x := range stlSide {
					b[c*stlSide*stlSide+x*stlSide+y] = rm[c*stlSide*stlSide+y*stlSide+x]
				}
			}
		}
		return b
	}
	writeFile(t, filepath.Join(dir, "train_X.bin"), append(colMajor(rowMajor(0)), colMajor(rowMajor(1))...))
	writeFile(t, filepath.Join(dir, "train_y.bin"), []byte{1, 10})
	writeFile(t, filepath.Join(dir, "test_X.bin"), colMajor(rowMajor(2)))
	writeFile(t, filepath.Join(dir, "test_y.bin"), []byte{4})
	d, err := Load("stl10", LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.Shape() != (Shape{3, 96, 96}) || !slices.Equal(d.Labels, []int{0, 9, 3}) || d.ClassNames[2] != "car" {
		t.Fatalf("%d of %v, labels %v", d.Len(), d.Shape(), d.Labels)
	}
	for i := range 3 {
		if !bytes.Equal(d.Raw(i), rowMajor(i)) {
			t.Fatalf("image %d not transposed to row-major", i)
		}
	}
	bad := func(x, y []byte, file, want string) {
		t.Helper()
		writeFile(t, filepath.Join(dir, "test_X.bin"), x)
		writeFile(t, filepath.Join(dir, "test_y.bin"), y)
		_, err := LoadSTL10(LoadOptions{Dir: dir, Split: SplitTest})
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, file)) || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one naming %s and saying %q", err, file, want)
		}
	}
	img := colMajor(rowMajor(0))
	bad(img, []byte{0}, "test_y.bin", "sample 0: label 0 out of range 1..10")
	bad(append(slices.Clone(img), img...), []byte{1, 11}, "test_y.bin", "sample 1: label 11 out of range")
	bad(img[:100], []byte{1}, "test_X.bin", "truncated")
	bad(img, []byte{1, 2}, "test_X.bin", "holds 1 images but")
}

func savePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b.Bytes())
}

func greyImage(w, h int, v func(x, y int) uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.SetGray(x, y, color.Gray{v(x, y)})
		}
	}
	return g
}

func TestCOIL20Loader(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "coil-20-proc")
	for obj := 1; obj <= 3; obj++ {
		for pose := 0; pose < 5; pose++ {
			savePNG(t, filepath.Join(dir, fmt.Sprintf("obj%d__%d.png", obj, pose)),
				greyImage(8, 8, func(x, y int) uint8 { return uint8(obj*40 + pose*3 + x) }))
		}
	}
	writeFile(t, filepath.Join(dir, "README.txt"), []byte("not an image"))
	d, err := Load("coil-20", LoadOptions{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 15 || d.Shape() != (Shape{1, 8, 8}) || d.Classes != 3 || d.Name != "coil3/all" {
		t.Fatalf("%s: %d of %v, %d classes", d.Name, d.Len(), d.Shape(), d.Classes)
	}
	// Sorted by object then pose: sample 6 is obj2__1.
	if d.Labels[6] != 1 || d.Raw(6)[3] != 2*40+3+3 || !strings.HasSuffix(d.Paths[6], "obj2__1.png") {
		t.Errorf("sample 6: label %d pixel %d path %s", d.Labels[6], d.Raw(6)[3], d.Paths[6])
	}
	tr, _ := LoadCOIL20(LoadOptions{Dir: dir, Split: SplitTrain, SplitSeed: 4})
	te, _ := LoadCOIL20(LoadOptions{Dir: dir, Split: SplitTest, SplitSeed: 4})
	if tr.Len() != 12 || te.Len() != 3 || !slices.Equal(te.ClassCounts(), []int{1, 1, 1}) {
		t.Errorf("split: train %d, test %d %v", tr.Len(), te.Len(), te.ClassCounts())
	}
	for _, p := range te.Paths {
		if slices.Contains(tr.Paths, p) {
			t.Errorf("%s in both splits", p)
		}
	}
	resized, err := LoadCOIL20(LoadOptions{Dir: dir, Size: 4})
	if err != nil || resized.Shape() != (Shape{1, 4, 4}) {
		t.Fatalf("resized: %v %v", resized, err)
	}

	badDir := func(t *testing.T, files map[string]image.Image, raw map[string][]byte, want string) {
		t.Helper()
		dir := t.TempDir()
		for n, img := range files {
			savePNG(t, filepath.Join(dir, n), img)
		}
		for n, b := range raw {
			writeFile(t, filepath.Join(dir, n), b)
		}
		_, err := LoadCOIL20(LoadOptions{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	g := greyImage(8, 8, func(x, y int) uint8 { return 0 })
	badDir(t, nil, nil, "no obj{N}__{k}.png files")
	badDir(t, map[string]image.Image{"obj0__0.png": g}, nil, "obj0__0.png: object number out of range")
	badDir(t, map[string]image.Image{"obj1__0.png": g, "obj3__0.png": g}, nil, "object 2 has no images")
	badDir(t, map[string]image.Image{"obj1__0.png": g}, map[string][]byte{"obj2__0.png": []byte("garbage")}, "obj2__0.png: unreadable image")
	badDir(t, map[string]image.Image{"obj1__0.png": g, "obj2__0.png": greyImage(9, 8, func(x, y int) uint8 { return 0 })},
		nil, "obj2__0.png is 9x8 but")
}

func TestImageFolderLoader(t *testing.T) {
	root := t.TempDir()
	colour := func(w, h int, c color.NRGBA) *image.NRGBA {
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m.SetNRGBA(x, y, c)
			}
		}
		return m
	}
	red := color.NRGBA{200, 10, 20, 255}
	savePNG(t, filepath.Join(root, "cats", "a.png"), colour(10, 6, red))
	savePNG(t, filepath.Join(root, "cats", "sub", "b.png"), colour(4, 4, red))
	var jb bytes.Buffer
	jpeg.Encode(&jb, colour(16, 16, color.NRGBA{20, 30, 220, 255}), &jpeg.Options{Quality: 95})
	writeFile(t, filepath.Join(root, "dogs", "c.JPG"), jb.Bytes())
	writeFile(t, filepath.Join(root, "dogs", "notes.txt"), []byte("skip me"))
	savePNG(t, filepath.Join(root, ".hidden", "x.png"), colour(4, 4, red))

	d, err := Load("folder", LoadOptions{Dir: root, Size: 8})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.Shape() != (Shape{3, 8, 8}) || d.Classes != 2 || !slices.Equal(d.ClassNames, []string{"cats", "dogs"}) ||
		!slices.Equal(d.Labels, []int{0, 0, 1}) {
		t.Fatalf("%d of %v, classes %v, labels %v", d.Len(), d.Shape(), d.ClassNames, d.Labels)
	}
	// A flat colour stays that colour after resizing; JPEG within a few levels.
	px := func(i, c int) int { return int(d.Raw(i)[c*64+27]) }
	if px(0, 0) != 200 || px(0, 1) != 10 || px(1, 2) != 20 || abs(px(2, 2)-220) > 4 || abs(px(2, 0)-20) > 4 {
		t.Errorf("colours %v %v %v", d.Raw(0)[27], d.Raw(1)[64+27], d.Raw(2)[128+27])
	}
	grey, err := LoadImageFolder(LoadOptions{Dir: root, Size: 5, Channels: 1, CenterCrop: true})
	if err != nil || grey.Shape() != (Shape{1, 5, 5}) {
		t.Fatalf("grey: %v %v", grey, err)
	}
	if want := (200*19595 + 10*38470 + 20*7471 + 0x8000) >> 16; int(grey.Raw(0)[12]) != want {
		t.Errorf("luma %d, want %d", grey.Raw(0)[12], want)
	}
	// Without a size, the images must agree.
	if _, err := LoadImageFolder(LoadOptions{Dir: root}); err == nil || !strings.Contains(err.Error(), "set a resize size") {
		t.Errorf("mixed sizes: %v", err)
	}

	// A train/test layout with grey PNGs: auto-detected as one channel.
	split := t.TempDir()
	for _, part := range []string{"train", "test"} {
		for k, cls := range []string{"0", "1", "2"} {
			if part == "test" && cls == "2" {
				continue
			}
			savePNG(t, filepath.Join(split, part, cls, "img.png"), greyImage(6, 6, func(x, y int) uint8 { return uint8(k * 50) }))
		}
	}
	all, err := LoadImageFolder(LoadOptions{Dir: split})
	if err != nil {
		t.Fatal(err)
	}
	te, err := Load("imagenet10", LoadOptions{Dir: split, Split: SplitTest})
	if err != nil {
		t.Fatal(err)
	}
	if all.Len() != 5 || all.C != 1 || all.Classes != 3 || te.Len() != 2 || te.Classes != 3 || te.Name != "imagenet10/test" {
		t.Fatalf("all %d (C=%d, %d classes), test %d (%d classes, %s)", all.Len(), all.C, all.Classes, te.Len(), te.Classes, te.Name)
	}

	bad := func(setup func(dir string), want string) {
		t.Helper()
		dir := t.TempDir()
		setup(dir)
		_, err := LoadImageFolder(LoadOptions{Dir: dir, Size: 8})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	bad(func(string) {}, "no class subfolders")
	bad(func(d string) { os.MkdirAll(filepath.Join(d, "empty"), 0o755) }, filepath.Join("empty")+": no PNG, JPEG or GIF images")
	bad(func(d string) { writeFile(t, filepath.Join(d, "a", "broken.png"), []byte("\x89PNG\r\n\x1a\nbroken")) }, "broken.png: unreadable image")
	bad(func(d string) {
		savePNG(t, filepath.Join(d, "train", "a", "x.png"), colour(4, 4, red))
		savePNG(t, filepath.Join(d, "test", "b", "x.png"), colour(4, 4, red))
	}, `class "b" is not among the training classes`)
	if _, err := LoadImageFolder(LoadOptions{Dir: root, Channels: 2}); err == nil {
		t.Error("2 channels accepted")
	}
}

func abs(x int) int { return max(x, -x) }

func TestDatasetMethods(t *testing.T) {
	d := &Dataset{Name: "toy", Classes: 2, C: 1, H: 1, W: 2,
		Pixels: []uint8{0, 255, 51, 204, 1, 2, 3, 4}, Labels: []int{0, 1, 0, 1}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 4)
	labels := make([]int, 2)
	d.Batch([]int{0, 1}, buf, labels)
	if buf[0] != -1 || buf[1] != 1 || abs(int(buf[2]*1000)) != 600 || buf[3] != 0.6 || !slices.Equal(labels, []int{0, 1}) {
		t.Errorf("batch %v %v", buf, labels)
	}
	sub := d.Subset([]int{3, 0})
	if !slices.Equal(sub.Pixels, []uint8{3, 4, 0, 255}) || !slices.Equal(sub.Labels, []int{1, 0}) {
		t.Errorf("subset %v %v", sub.Pixels, sub.Labels)
	}
	cat, err := Concat("both", d, sub)
	if err != nil || cat.Len() != 6 {
		t.Fatalf("concat %v %v", cat, err)
	}
	if _, err := Concat("bad", d, &Dataset{Classes: 2, C: 3, H: 1, W: 2}); err == nil {
		t.Error("concatenated different shapes")
	}
	bal, err := d.Balanced(1, 0)
	if err != nil || !slices.Equal(bal.ClassCounts(), []int{1, 1}) {
		t.Errorf("balanced %v %v", bal, err)
	}
	if _, err := d.Balanced(3, 0); err == nil {
		t.Error("balanced beyond class size accepted")
	}
	d.Labels[2] = 5
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "sample 2: label 5 out of range") {
		t.Errorf("validate: %v", err)
	}
	if _, err := Load("imagenet-1k", LoadOptions{}); err == nil || !strings.Contains(err.Error(), "unknown dataset") {
		t.Errorf("unknown dataset: %v", err)
	}
}
