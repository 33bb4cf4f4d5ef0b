package main

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/vkgrad/vkgrad/cmd/internal/runner"
	"github.com/vkgrad/vkgrad/icbpc"
)

// SummaryFile describes the clustering of a folder.
const SummaryFile = "summary.json"

// summary is the content of summary.json.
type summary struct {
	Images    int           `json:"images"`
	K         int           `json:"k"`
	Sizes     []int         `json:"sizes"`
	Sheets    []string      `json:"sheets"`
	Labelled  bool          `json:"labelled"`
	Scores    *icbpc.Scores `json:"scores,omitempty"`
	Folder    string        `json:"folder"`
	Generated string        `json:"assignments"`
}

// sheetName is the contact sheet of cluster c.
func sheetName(c int) string { return fmt.Sprintf("cluster-%02d.png", c) }

// writeClusters writes assignments.csv (path, cluster and, with labels,
// the class), one contact sheet per non-empty cluster with its most
// typical images (largest cosine to the cluster's centroid) first, and
// summary.json.
func writeClusters(rep *runner.Reporter, out string, d *icbpc.Dataset, labelled bool, ev *icbpc.Evaluation, cent *icbpc.Centroids, perSheet int) error {
	k := cent.Classes
	if err := writeAssignments(filepath.Join(out, runner.AssignmentsFile), d, ev.Assign, labelled); err != nil {
		return err
	}
	// Sheets of an earlier clustering with a larger k would mislead.
	old, _ := filepath.Glob(filepath.Join(out, "cluster-[0-9]*.png"))
	for _, f := range old {
		os.Remove(f)
	}
	members := make([][]int, k)
	for i, c := range ev.Assign {
		members[c] = append(members[c], i)
	}
	dim := cent.Dim
	cosine := func(i, c int) float64 {
		var s float64
		for j, v := range cent.Row(c) {
			s += v * float64(ev.Features[i*dim+j])
		}
		return s
	}
	sm := summary{Images: d.Len(), K: k, Labelled: labelled, Folder: out, Generated: runner.AssignmentsFile, Sizes: make([]int, k)}
	s := d.Shape()
	scale := max(1, 64/max(s.W, 1))
	for c, idx := range members {
		sm.Sizes[c] = len(idx)
		if len(idx) == 0 {
			continue
		}
		if ev.Features != nil {
			slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(cosine(b, c), cosine(a, c)) })
		}
		idx = idx[:min(len(idx), perSheet)]
		pix := make([]float32, len(idx)*s.Len())
		d.Batch(idx, pix, nil)
		name := sheetName(c)
		if err := icbpc.SaveGridPNG(filepath.Join(out, name), pix, s, icbpc.GridOptions{Pad: 2, Scale: scale}); err != nil {
			return err
		}
		sm.Sheets = append(sm.Sheets, name)
	}
	if labelled {
		sc := ev.Scores
		sm.Scores = &sc
	}
	if err := icbpc.WriteJSONFile(filepath.Join(out, SummaryFile), sm); err != nil {
		return err
	}
	if rep.Mode == runner.JSONLines {
		json.NewEncoder(rep.Stdout).Encode(struct {
			Event string `json:"event"`
			summary
		}{"clusters", sm})
		return nil
	}
	printSummary(rep, out, sm.Sizes, labelled, ev.Scores)
	return nil
}

// writeAssignments writes path,cluster[,label] rows.
func writeAssignments(path string, d *icbpc.Dataset, assign []int, labelled bool) error {
	return icbpc.WriteFileAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		head := []string{"path", "cluster"}
		if labelled {
			head = append(head, "label")
		}
		if err := cw.Write(head); err != nil {
			return err
		}
		for i, c := range assign {
			row := []string{strconv.Itoa(i), strconv.Itoa(c)}
			if d.Paths != nil {
				row[0] = d.Paths[i]
			}
			if labelled {
				l := strconv.Itoa(d.Labels[i])
				if d.Labels[i] < len(d.ClassNames) {
					l = d.ClassNames[d.Labels[i]]
				}
				row = append(row, l)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}
