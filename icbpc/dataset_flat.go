package icbpc

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// LoadUnlabelled loads every PNG, JPEG or GIF file under opt.Dir
// (recursively, hidden files and folders skipped, sorted by path) as one
// unlabelled set for clustering a person's own images: every label is 0,
// Classes is k (the clusters to find; the labels mean nothing) and Paths
// records the files. Images are resized as for LoadImageFolder (opt.Size,
// opt.CenterCrop, opt.Channels); opt.Split is ignored.
func LoadUnlabelled(opt LoadOptions, k int) (*Dataset, error) {
	if err := needDir("folder", opt.Dir); err != nil {
		return nil, err
	}
	if k < 1 {
		return nil, fmt.Errorf("folder: %d clusters requested, want at least 1", k)
	}
	root := opt.Dir
	var entries []imageEntry
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.Type().IsRegular() && isImageFile(e.Name()) {
			entries = append(entries, imageEntry{p, 0})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("folder: %s: %w", root, errNoImages)
	}
	slices.SortFunc(entries, func(a, b imageEntry) int { return strings.Compare(a.path, b.path) })
	d, err := loadImageList("folder", entries, []string{"unlabelled"}, opt, 0)
	if err != nil {
		return nil, err
	}
	d.Name = "folder/unlabelled"
	d.Classes, d.ClassNames = k, nil
	return finish(d, opt)
}
