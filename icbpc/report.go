package icbpc

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// EpochRecord is one row of a run's metrics.csv: the mean losses of an
// epoch, the scores of the evaluation after it and its timing.
type EpochRecord struct {
	// Epoch counts completed epochs (1 is the first).
	Epoch int `json:"epoch"`
	// Steps is the number of optimizer steps in the epoch; Step the total
	// after it.
	Steps int   `json:"steps"`
	Step  int64 `json:"step"`
	// Loss, MMD, Contrastive and L1 are means over the epoch's steps (the
	// MMD, contrastive and L1 terms unweighted).
	Loss        float64 `json:"loss"`
	MMD         float64 `json:"mmd"`
	Contrastive float64 `json:"contrastive"`
	L1          float64 `json:"l1"`
	// HasScores is false when the evaluation set has no labels.
	HasScores bool   `json:"has_scores"`
	Scores    Scores `json:"scores"`
	// Seconds is the wall time of the epoch's training steps, EvalSeconds
	// of its evaluation; ImagesPerSec counts original images (not views)
	// per second of training.
	Seconds      float64 `json:"seconds"`
	EvalSeconds  float64 `json:"eval_seconds"`
	ImagesPerSec float64 `json:"images_per_s"`
}

// metricsHeader is the header row of metrics.csv.
var metricsHeader = []string{
	"epoch", "step", "steps", "loss", "mmd", "contrastive", "l1",
	"acc", "nmi", "nmi_geometric", "ari", "ami", "n",
	"seconds", "eval_seconds", "images_per_s",
}

// WriteFileAtomic writes a file through write into a temporary file in the
// same folder, syncs it and renames it over path, so that path holds
// either its old or its complete new content, never a torn one: a full
// disk or a crash while writing leaves the previous file in place.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteJSONFile writes v as indented JSON to path atomically.
func WriteJSONFile(path string, v any) error {
	return WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// WriteMetricsCSV writes the records as metrics.csv (one row per epoch,
// every float in its shortest exact form; score columns empty when the
// labels are unknown) atomically.
func WriteMetricsCSV(path string, recs []EpochRecord) error {
	return WriteFileAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(metricsHeader); err != nil {
			return err
		}
		for _, r := range recs {
			row := []string{
				strconv.Itoa(r.Epoch), strconv.FormatInt(r.Step, 10), strconv.Itoa(r.Steps),
				fmtFloat(r.Loss), fmtFloat(r.MMD), fmtFloat(r.Contrastive), fmtFloat(r.L1),
				"", "", "", "", "", "",
				fmtFloat(r.Seconds), fmtFloat(r.EvalSeconds), fmtFloat(r.ImagesPerSec),
			}
			if r.HasScores {
				s := r.Scores
				copy(row[7:13], []string{fmtFloat(s.ACC), fmtFloat(s.NMI), fmtFloat(s.NMIGeometric),
					fmtFloat(s.ARI), fmtFloat(s.AMI), strconv.Itoa(s.N)})
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// ReadMetricsCSV reads a file written by WriteMetricsCSV.
func ReadMetricsCSV(path string) ([]EpochRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 || len(rows[0]) != len(metricsHeader) || rows[0][0] != metricsHeader[0] {
		return nil, fmt.Errorf("%s: not a metrics file (header %v)", path, rows)
	}
	recs := make([]EpochRecord, 0, len(rows)-1)
	for i, row := range rows[1:] {
		var r EpochRecord
		var errs []error
		num := func(k int) float64 {
			v, err := strconv.ParseFloat(row[k], 64)
			errs = append(errs, err)
			return v
		}
		integer := func(k int) int64 {
			v, err := strconv.ParseInt(row[k], 10, 64)
			errs = append(errs, err)
			return v
		}
		r.Epoch, r.Step, r.Steps = int(integer(0)), integer(1), int(integer(2))
		r.Loss, r.MMD, r.Contrastive, r.L1 = num(3), num(4), num(5), num(6)
		if row[7] != "" {
			r.HasScores = true
			r.Scores = Scores{ACC: num(7), NMI: num(8), NMIGeometric: num(9), ARI: num(10), AMI: num(11), N: int(integer(12))}
		}
		r.Seconds, r.EvalSeconds, r.ImagesPerSec = num(13), num(14), num(15)
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i+2, err)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// BestEpoch returns the index of the record with the highest ACC, or -1
// when no record has scores. It is for labelling only: a run reports its
// last epoch, since choosing an epoch by test labels is not unsupervised.
func BestEpoch(recs []EpochRecord) int {
	best := -1
	for i, r := range recs {
		if r.HasScores && (best < 0 || r.Scores.ACC > recs[best].Scores.ACC) {
			best = i
		}
	}
	return best
}

// WriteAssignmentsCSV writes one row per sample of d: its index, its
// cluster, its label (empty when withLabels is false) and, when d records
// source files, its path.
func WriteAssignmentsCSV(path string, d *Dataset, assign []int, withLabels bool) error {
	if len(assign) != d.Len() {
		return fmt.Errorf("write %s: %d assignments for %d samples", path, len(assign), d.Len())
	}
	return WriteFileAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		head := []string{"index", "cluster", "label"}
		if d.Paths != nil {
			head = append(head, "path")
		}
		if err := cw.Write(head); err != nil {
			return err
		}
		row := make([]string, len(head))
		for i, c := range assign {
			row[0], row[1], row[2] = strconv.Itoa(i), strconv.Itoa(c), ""
			if withLabels {
				row[2] = strconv.Itoa(d.Labels[i])
			}
			if d.Paths != nil {
				row[3] = d.Paths[i]
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// PCA projects the rows of x (n x dim, row-major) onto their first k
// principal axes (power iteration with deflation on the covariance,
// deterministic). It returns the n x k projections, the k x dim axes and
// the mean. Rows with fewer than 2 samples or zero variance give zero
// axes.
func PCA(x []float32, dim, k int) (proj, axes, mean []float64) {
	n := 0
	if dim > 0 {
		n = len(x) / dim
	}
	mean = make([]float64, dim)
	for i := 0; i < n; i++ {
		for j := 0; j < dim; j++ {
			mean[j] += float64(x[i*dim+j])
		}
	}
	for j := range mean {
		if n > 0 {
			mean[j] /= float64(n)
		}
	}
	cov := make([]float64, dim*dim)
	row := make([]float64, dim)
	for i := 0; i < n; i++ {
		for j := 0; j < dim; j++ {
			row[j] = float64(x[i*dim+j]) - mean[j]
		}
		for a := 0; a < dim; a++ {
			ra := row[a]
			if ra == 0 {
				continue
			}
			c := cov[a*dim : (a+1)*dim]
			for b := range c {
				c[b] += ra * row[b]
			}
		}
	}
	axes = make([]float64, k*dim)
	v := make([]float64, dim)
	w := make([]float64, dim)
	for c := 0; c < k && c < dim; c++ {
		for j := range v {
			v[j] = 1 / math.Sqrt(float64(dim)) * (1 + float64(j%7)*0.01) // fixed, generic start
		}
		var lambda float64
		for it := 0; it < 500; it++ {
			for a := 0; a < dim; a++ {
				var s float64
				for b := 0; b < dim; b++ {
					s += cov[a*dim+b] * v[b]
				}
				w[a] = s
			}
			norm := 0.0
			for _, e := range w {
				norm += e * e
			}
			norm = math.Sqrt(norm)
			if norm == 0 {
				break
			}
			diff := 0.0
			for j := range w {
				e := w[j] / norm
				diff += math.Abs(e - v[j])
				v[j] = e
			}
			lambda = norm
			if diff < 1e-12 {
				break
			}
		}
		if lambda == 0 {
			break
		}
		// Fix the sign: the largest component is positive.
		big := 0
		for j := range v {
			if math.Abs(v[j]) > math.Abs(v[big]) {
				big = j
			}
		}
		sign := 1.0
		if v[big] < 0 {
			sign = -1
		}
		for j := range v {
			axes[c*dim+j] = sign * v[j]
		}
		// Deflate.
		for a := 0; a < dim; a++ {
			for b := 0; b < dim; b++ {
				cov[a*dim+b] -= lambda * v[a] * v[b]
			}
		}
	}
	proj = make([]float64, n*k)
	for i := 0; i < n; i++ {
		for c := 0; c < k; c++ {
			var s float64
			for j := 0; j < dim; j++ {
				s += (float64(x[i*dim+j]) - mean[j]) * axes[c*dim+j]
			}
			proj[i*k+c] = s
		}
	}
	return proj, axes, mean
}
