package icbpc

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// imageEntry is one file of an image-folder dataset.
type imageEntry struct {
	path  string
	label int
}

func isImageFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg", ".gif":
		return true
	}
	return false
}

var coilName = regexp.MustCompile(`(?i)^obj(\d+)__(\d+)\.png$`)

// LoadCOIL20 loads the processed COIL-20 set from opt.Dir (the
// coil-20-proc folder, or its parent): PNG files obj{N}__{k}.png with
// object N = 1..20 (label N-1) and pose k, 128x128 grey, 1 440 in all. The
// number of classes is the highest object number, and every object must
// have images (the same code reads COIL-100's naming). COIL-20 has no
// official split: SplitTrain and SplitTest hold out opt.TestFraction of each
// object's poses, chosen with opt.SplitSeed.
func LoadCOIL20(opt LoadOptions) (*Dataset, error) {
	if err := needDir("coil20", opt.Dir); err != nil {
		return nil, err
	}
	dir := opt.Dir
	list := func(dir string) ([]os.DirEntry, error) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("coil20: %w", err)
		}
		var out []os.DirEntry
		for _, e := range ents {
			if !e.IsDir() && coilName.MatchString(e.Name()) {
				out = append(out, e)
			}
		}
		return out, nil
	}
	ents, err := list(dir)
	if err != nil {
		return nil, err
	}
	if len(ents) == 0 {
		if sub := filepath.Join(dir, "coil-20-proc"); dirExists(sub) {
			dir = sub
			if ents, err = list(dir); err != nil {
				return nil, err
			}
		}
	}
	if len(ents) == 0 {
		return nil, fmt.Errorf("coil20: %s: no obj{N}__{k}.png files", dir)
	}
	type coilFile struct {
		path      string
		obj, pose int
	}
	var files []coilFile
	maxObj := 0
	for _, e := range ents {
		m := coilName.FindStringSubmatch(e.Name())
		obj, err1 := strconv.Atoi(m[1])
		pose, err2 := strconv.Atoi(m[2])
		p := filepath.Join(dir, e.Name())
		if err1 != nil || err2 != nil || obj < 1 || obj > 10000 {
			return nil, fmt.Errorf("coil20: %s: object number out of range (objects are numbered from 1)", p)
		}
		files = append(files, coilFile{p, obj, pose})
		maxObj = max(maxObj, obj)
	}
	slices.SortFunc(files, func(a, b coilFile) int {
		return cmp.Or(cmp.Compare(a.obj, b.obj), cmp.Compare(a.pose, b.pose))
	})
	seen := make([]bool, maxObj+1)
	entries := make([]imageEntry, len(files))
	for i, f := range files {
		seen[f.obj] = true
		entries[i] = imageEntry{f.path, f.obj - 1}
	}
	for obj := 1; obj <= maxObj; obj++ {
		if !seen[obj] {
			return nil, fmt.Errorf("coil20: %s: object %d has no images (found objects up to %d); is the folder complete?", dir, obj, maxObj)
		}
	}
	names := make([]string, maxObj)
	for i := range names {
		names[i] = fmt.Sprintf("obj%d", i+1)
	}
	name := "coil20"
	if maxObj != 20 {
		name = fmt.Sprintf("coil%d", maxObj)
	}
	d, err := loadImageList(name, entries, names, opt, 1)
	if err != nil {
		return nil, err
	}
	if d, err = selectHeldOut(d, opt); err != nil {
		return nil, err
	}
	return finish(d, opt)
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// LoadImageFolder loads an ImageFolder tree: opt.Dir/<class>/.../<image>
// with PNG, JPEG or GIF files, one class per subfolder (sorted by name,
// hidden folders skipped), as torchvision's ImageFolder. If opt.Dir holds
// train/ and test/ subfolders, those are the official split (the test
// classes must be among the train classes); otherwise SplitTrain and
// SplitTest hold out opt.TestFraction of each class. Images are resized to
// opt.Size (stretched, or with opt.CenterCrop cropped to a square); with
// Size 0 they must all have the same size. Channels follow opt.Channels
// (0: grey if every image is grey, else RGB). Paths records each file.
func LoadImageFolder(opt LoadOptions) (*Dataset, error) {
	if err := needDir("folder", opt.Dir); err != nil {
		return nil, err
	}
	root := opt.Dir
	trainDir, testDir := filepath.Join(root, "train"), filepath.Join(root, "test")
	if dirExists(trainDir) && dirExists(testDir) {
		classes, err := classDirs(trainDir)
		if err != nil {
			return nil, err
		}
		split, err := opt.Split.normalize()
		if err != nil {
			return nil, err
		}
		var entries []imageEntry
		for _, part := range []Split{SplitTrain, SplitTest} {
			if split != SplitAll && split != part {
				continue
			}
			es, err := folderEntries(filepath.Join(root, string(part)), classes)
			if err != nil {
				return nil, err
			}
			entries = append(entries, es...)
		}
		d, err := loadImageList("folder", entries, classes, opt, 0)
		if err != nil {
			return nil, err
		}
		d.Name = splitName("folder", split)
		return finish(d, opt)
	}
	classes, err := classDirs(root)
	if err != nil {
		return nil, err
	}
	entries, err := folderEntries(root, classes)
	if err != nil {
		return nil, err
	}
	d, err := loadImageList("folder", entries, classes, opt, 0)
	if err != nil {
		return nil, err
	}
	if d, err = selectHeldOut(d, opt); err != nil {
		return nil, err
	}
	return finish(d, opt)
}

// classDirs lists the non-hidden subfolders of dir, sorted.
func classDirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("folder: %s: no class subfolders (expected %s/<class>/<image>.png)", dir, dir)
	}
	slices.Sort(names)
	return names, nil
}

// folderEntries walks dir/<class> for every class in classes that exists
// there (all must exist and hold images unless dir is a test split, where
// a class may be absent).
func folderEntries(dir string, classes []string) ([]imageEntry, error) {
	present, err := classDirs(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range present {
		if !slices.Contains(classes, p) {
			return nil, fmt.Errorf("folder: %s: class %q is not among the training classes %v", dir, p, classes)
		}
	}
	var entries []imageEntry
	for label, class := range classes {
		cdir := filepath.Join(dir, class)
		if !dirExists(cdir) {
			if filepath.Base(dir) == "test" {
				continue
			}
			return nil, fmt.Errorf("folder: %s: missing", cdir)
		}
		var files []string
		err := filepath.WalkDir(cdir, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(e.Name(), ".") && p != cdir {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if e.Type().IsRegular() && isImageFile(e.Name()) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("folder: %w", err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("folder: %s: %w", cdir, errNoImages)
		}
		slices.Sort(files)
		for _, f := range files {
			entries = append(entries, imageEntry{f, label})
		}
	}
	return entries, nil
}

// parallelFor runs f(i) for i in 0..n-1 on up to workers goroutines and
// returns the error of the lowest failing i, so the reported error does not
// depend on scheduling.
func parallelFor(n, workers int, f func(i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	errs := make([]error, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				errs[i] = f(i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// loadImageList decodes the files of entries into one dataset. defaultC is
// the channel count when opt.Channels is 0 (0: detect, grey only if every
// file is grey).
func loadImageList(name string, entries []imageEntry, classNames []string, opt LoadOptions, defaultC int) (*Dataset, error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s: %w", name, errNoImages)
	}
	infos := make([]imageInfo, len(entries))
	if err := parallelFor(len(entries), opt.Workers, func(i int) error {
		var err error
		infos[i], err = probeImage(entries[i].path)
		if err != nil {
			return fmt.Errorf("%s: sample %d: %w", name, i, err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	c := opt.Channels
	switch c {
	case 0:
		c = defaultC
		if c == 0 {
			c = 1
			for _, in := range infos {
				if !in.grey {
					c = 3
					break
				}
			}
		}
	case 1, 3:
	default:
		return nil, fmt.Errorf("%s: %d channels requested, want 1 (grey) or 3 (RGB)", name, c)
	}
	w, h := opt.Size, opt.Size
	if opt.Size < 0 {
		return nil, fmt.Errorf("%s: negative image size %d", name, opt.Size)
	}
	if opt.Size == 0 {
		w, h = infos[0].w, infos[0].h
		for i, in := range infos {
			if in.w != w || in.h != h {
				return nil, fmt.Errorf("%s: sample %d: %s is %dx%d but %s is %dx%d; set a resize size to use images of different sizes",
					name, i, entries[i].path, in.w, in.h, entries[0].path, w, h)
			}
		}
	}
	s := Shape{c, h, w}
	if int64(s.Len())*int64(len(entries)) > 1<<36 {
		return nil, fmt.Errorf("%s: %d images of %v do not fit in memory; set a smaller size", name, len(entries), s)
	}
	d := &Dataset{Name: name, Classes: len(classNames), C: c, H: h, W: w, ClassNames: classNames,
		Pixels: make([]uint8, len(entries)*s.Len()), Labels: make([]int, len(entries)), Paths: make([]string, len(entries))}
	err := parallelFor(len(entries), opt.Workers, func(i int) error {
		e := entries[i]
		planes, sw, sh, err := decodeImage(e.path, c)
		if err != nil {
			return fmt.Errorf("%s: sample %d: %w", name, i, err)
		}
		resizePlanes(planes, c, sw, sh, fitBox(sw, sh, w, h, opt.CenterCrop), d.Raw(i), w, h)
		d.Labels[i] = e.label
		d.Paths[i] = e.path
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
