package icbpc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/icbpc"
)

func TestLoadUnlabelled(t *testing.T) {
	dir := t.TempDir()
	writeShapes(t, dir, 2, 3, 10) // class0/, class1/: 6 images in subfolders
	// A hidden folder and a non-image file are skipped.
	os.MkdirAll(filepath.Join(dir, ".cache"), 0o755)
	os.WriteFile(filepath.Join(dir, ".cache", "x.png"), []byte("not a png"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644)
	d, err := icbpc.LoadUnlabelled(icbpc.LoadOptions{Dir: dir, Size: 8}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 6 || d.Classes != 4 || d.H != 8 || d.W != 8 || len(d.Paths) != 6 {
		t.Fatalf("got %d images, %d classes, %dx%d, %d paths", d.Len(), d.Classes, d.H, d.W, len(d.Paths))
	}
	for i, l := range d.Labels {
		if l != 0 {
			t.Errorf("label %d = %d", i, l)
		}
		if i > 0 && d.Paths[i] < d.Paths[i-1] {
			t.Errorf("paths not sorted: %v", d.Paths)
		}
	}
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		dir  string
		k    int
		want string
	}{
		{filepath.Join(dir, "missing"), 2, "does not exist"},
		{filepath.Join(dir, ".cache"), 2, "sample 0"},
		{t.TempDir(), 2, "no PNG"},
		{dir, 0, "clusters"},
	} {
		if _, err := icbpc.LoadUnlabelled(icbpc.LoadOptions{Dir: tc.dir, Size: 8}, tc.k); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadUnlabelled(%s, %d) = %v, want an error with %q", tc.dir, tc.k, err, tc.want)
		}
	}
}
