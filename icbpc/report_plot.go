package icbpc

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The report plots are PNG files drawn with gonum.org/v1/plot and written
// atomically (WriteFileAtomic).

// savePlot renders p as a PNG of w x h inches into path.
func savePlot(p *plot.Plot, w, h vg.Length, path string) error {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return WriteFileAtomic(path, func(out io.Writer) error {
		_, err := wt.WriteTo(out)
		return err
	})
}

// ClusterColor returns a distinct colour for cluster i of k: a fixed
// 10-colour qualitative palette (Tableau 10) for k <= 10, evenly spaced
// hues otherwise.
func ClusterColor(i, k int) color.Color {
	tab10 := []color.RGBA{
		{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
		{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
	}
	if k <= len(tab10) && i >= 0 && i < len(tab10) {
		return tab10[i]
	}
	h := math.Mod(float64(i)*0.618033988749895, 1)
	v := 0.95
	if i%2 == 1 {
		v = 0.7
	}
	return palette.HSVA{H: h, S: 0.8, V: v, A: 1}
}

func addSeries(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashed bool) error {
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	s.Color = c
	s.Radius = vg.Points(2)
	p.Add(l, s)
	p.Legend.Add(name, l, s)
	return nil
}

// PlotLosses draws the epoch means of the total loss and of each enabled
// term against the epoch.
func PlotLosses(path string, recs []EpochRecord) error {
	if len(recs) == 0 {
		return fmt.Errorf("plot %s: no epochs", path)
	}
	p := plot.New()
	p.Title.Text = "Training loss (epoch means)"
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "loss"
	p.Legend.Top = true
	series := []struct {
		name string
		get  func(EpochRecord) float64
	}{
		{"total", func(r EpochRecord) float64 { return r.Loss }},
		{"MMD", func(r EpochRecord) float64 { return r.MMD }},
		{"contrastive", func(r EpochRecord) float64 { return r.Contrastive }},
		{"L1", func(r EpochRecord) float64 { return r.L1 }},
	}
	for i, s := range series {
		xys := make(plotter.XYs, len(recs))
		nonzero := false
		for j, r := range recs {
			xys[j] = plotter.XY{X: float64(r.Epoch), Y: s.get(r)}
			nonzero = nonzero || xys[j].Y != 0
		}
		if i > 0 && !nonzero {
			continue
		}
		if err := addSeries(p, s.name, xys, ClusterColor(i, 10), i > 0); err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
	}
	return savePlot(p, 6*vg.Inch, 4*vg.Inch, path)
}

// PlotScores draws ACC, NMI and ARI of every epoch. The title gives the
// last epoch's values, which are the run's result, and the best epoch only
// as a labelled reference (picking it uses the test labels).
func PlotScores(path string, recs []EpochRecord) error {
	var xs []EpochRecord
	for _, r := range recs {
		if r.HasScores {
			xs = append(xs, r)
		}
	}
	if len(xs) == 0 {
		return fmt.Errorf("plot %s: no epoch has scores", path)
	}
	p := plot.New()
	last := xs[len(xs)-1]
	best := xs[BestEpoch(xs)]
	p.Title.Text = fmt.Sprintf("Clustering scores: last epoch %d ACC %.4f NMI %.4f\n(best epoch %d ACC %.4f, chosen with test labels)",
		last.Epoch, last.Scores.ACC, last.Scores.NMI, best.Epoch, best.Scores.ACC)
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "score"
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top = false
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	for i, s := range []struct {
		name string
		get  func(Scores) float64
	}{
		{"ACC", func(s Scores) float64 { return s.ACC }},
		{"NMI", func(s Scores) float64 { return s.NMI }},
		{"ARI", func(s Scores) float64 { return s.ARI }},
	} {
		xy := make(plotter.XYs, len(xs))
		for j, r := range xs {
			xy[j] = plotter.XY{X: float64(r.Epoch), Y: s.get(r.Scores)}
		}
		if err := addSeries(p, s.name, xy, ClusterColor(i, 10), i == 2); err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
	}
	return savePlot(p, 6*vg.Inch, 4*vg.Inch, path)
}

// confusionGrid adapts an aligned confusion table to plotter.GridXYZ:
// columns are clusters, rows classes (row 0 drawn at the top).
type confusionGrid struct {
	counts [][]int
}

func (g confusionGrid) Dims() (c, r int)   { return len(g.counts[0]), len(g.counts) }
func (g confusionGrid) X(c int) float64    { return float64(c) }
func (g confusionGrid) Y(r int) float64    { return float64(r) }
func (g confusionGrid) Z(c, r int) float64 { return float64(g.counts[len(g.counts)-1-r][c]) }

// PlotConfusion draws the confusion matrix as a heat map: one row per true
// class, one column per cluster, clusters ordered so that the Hungarian
// match of each class lies on the diagonal, with the counts written in
// the cells. classNames (optional) label the rows.
func PlotConfusion(path string, conf *Confusion, classNames []string) error {
	counts, cols := conf.Aligned()
	if len(counts) == 0 || len(counts[0]) == 0 {
		return fmt.Errorf("plot %s: empty confusion matrix", path)
	}
	rows := len(counts)
	g := confusionGrid{counts}
	pal := palette.Heat(64, 1)
	// Reverse so that large counts are dark.
	cs := pal.Colors()
	rev := make([]color.Color, len(cs))
	for i, c := range cs {
		rev[len(cs)-1-i] = c
	}
	hm := plotter.NewHeatMap(g, revPalette(rev))
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Confusion matrix (ACC %.4f, n=%d)", conf.Accuracy(), conf.N)
	p.X.Label.Text = "cluster (matched order)"
	p.Y.Label.Text = "class"
	p.Add(hm)
	var labels plotter.XYLabels
	maxCount := 0
	for _, r := range counts {
		for _, v := range r {
			maxCount = max(maxCount, v)
		}
	}
	for r := range counts {
		for c, v := range counts[r] {
			labels.XYs = append(labels.XYs, plotter.XY{X: float64(c), Y: float64(rows - 1 - r)})
			labels.Labels = append(labels.Labels, strconv.Itoa(v))
		}
	}
	if rows*len(cols) <= 400 {
		lb, err := plotter.NewLabels(labels)
		if err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		for i := range lb.TextStyle {
			v := counts[i/len(cols)][i%len(cols)]
			lb.TextStyle[i].XAlign = draw.XCenter
			lb.TextStyle[i].YAlign = draw.YCenter
			if float64(v) > 0.5*float64(maxCount) {
				lb.TextStyle[i].Color = color.White
			}
		}
		p.Add(lb)
	}
	colNames := make([]string, len(cols))
	for i, c := range cols {
		colNames[i] = strconv.Itoa(c)
	}
	rowNames := make([]string, rows)
	for r := range rowNames {
		k := conf.TrueLabels[rows-1-r]
		name := strconv.Itoa(k)
		if k >= 0 && k < len(classNames) {
			name = classNames[k]
		}
		rowNames[r] = name
	}
	p.NominalX(colNames...)
	p.NominalY(rowNames...)
	side := vg.Length(math.Max(4, math.Min(12, 0.45*float64(max(rows, len(cols)))+2))) * vg.Inch
	return savePlot(p, side+vg.Inch, side, path)
}

type revPalette []color.Color

func (p revPalette) Colors() []color.Color { return p }

// latentPoints picks at most limit sample indices evenly (deterministic).
func latentPoints(n, limit int) []int {
	if n <= limit {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := make([]int, limit)
	for i := range idx {
		idx[i] = int(int64(i) * int64(n) / int64(limit))
	}
	return idx
}

// PlotLatentPCA draws the latent features (n x dim, row-major) projected
// onto their first two principal axes, coloured by cluster, with the PEDCC
// centroids (optional) marked by black crosses. At most 5000 points are
// drawn.
func PlotLatentPCA(path string, feats []float32, dim int, assign []int, k int, cent *Centroids) error {
	if dim < 2 || len(feats) == 0 || len(feats) != len(assign)*dim {
		return fmt.Errorf("plot %s: %d feature values for %d samples of dimension %d", path, len(feats), len(assign), dim)
	}
	// Rows with a non-finite value (a diverged encoder) are left out.
	keep := finiteRows(feats, dim)
	sub := make([]float32, 0, len(keep)*dim)
	for _, i := range keep {
		sub = append(sub, feats[i*dim:(i+1)*dim]...)
	}
	proj, axes, mean := PCA(sub, dim, 2)
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Latent features (d=%d), first two principal components", dim)
	if len(keep) < len(assign) {
		p.Title.Text += fmt.Sprintf("\n(%d of %d samples have non-finite features and are not shown)", len(assign)-len(keep), len(assign))
	}
	p.X.Label.Text = "PC1"
	p.Y.Label.Text = "PC2"
	pts := make([]plotter.XYs, k)
	for _, j := range latentPoints(len(keep), 5000) {
		c := assign[keep[j]]
		if c < 0 || c >= k {
			continue
		}
		pts[c] = append(pts[c], plotter.XY{X: proj[2*j], Y: proj[2*j+1]})
	}
	if err := addClusters(p, pts, k, 1.5); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if cent != nil && cent.Dim == dim {
		var xy plotter.XYs
		for c := 0; c < cent.Classes; c++ {
			row := cent.Row(c)
			var a, b float64
			for j := 0; j < dim; j++ {
				a += (row[j] - mean[j]) * axes[j]
				b += (row[j] - mean[j]) * axes[dim+j]
			}
			xy = append(xy, plotter.XY{X: a, Y: b})
		}
		if err := addCentroids(p, xy); err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
	}
	return savePlot(p, 7*vg.Inch, 6*vg.Inch, path)
}

// addClusters draws one scatter per cluster and, for up to 20 clusters,
// a legend entry for every cluster (also those with no point drawn).
// finiteRows returns the indices of the rows of x (n x dim) whose values
// are all finite.
func finiteRows(x []float32, dim int) []int {
	var keep []int
	for i := 0; i < len(x)/dim; i++ {
		ok := true
		for _, v := range x[i*dim : (i+1)*dim] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, i)
		}
	}
	return keep
}

func addClusters(p *plot.Plot, pts []plotter.XYs, k int, radius float64) error {
	for c, xy := range pts {
		if len(xy) == 0 {
			xy = plotter.XYs{{}} // legend only
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return err
		}
		s.Color = ClusterColor(c, k)
		s.Shape = draw.CircleGlyph{}
		s.Radius = vg.Points(radius)
		if len(pts[c]) > 0 {
			p.Add(s)
		}
		if k <= 20 {
			p.Legend.Add(fmt.Sprintf("cluster %d", c), s)
		}
	}
	return nil
}

func addCentroids(p *plot.Plot, xy plotter.XYs) error {
	s, err := plotter.NewScatter(xy)
	if err != nil {
		return err
	}
	s.Shape = draw.CrossGlyph{}
	s.Radius = vg.Points(5)
	s.Color = color.Black
	p.Add(s)
	p.Legend.Add("PEDCC centroid", s)
	return nil
}

// sphereView rotates a point of the unit sphere to the viewer's frame
// (azimuth 35°, elevation 25°): x right, y up, z towards the viewer.
func sphereView(v [3]float64) [3]float64 {
	az, el := 35*math.Pi/180, 25*math.Pi/180
	x := math.Cos(az)*v[0] - math.Sin(az)*v[1]
	y := math.Sin(az)*v[0] + math.Cos(az)*v[1]
	z := v[2]
	// Tilt about the x axis by the elevation.
	return [3]float64{x, math.Cos(el)*z - math.Sin(el)*y, math.Sin(el)*z + math.Cos(el)*y}
}

// PlotSphere draws d = 3 latent features on the unit sphere in an
// orthographic view, as in the paper's Figure 8: the sphere's outline, its
// equator and two meridians, points on the near hemisphere solid and on
// the far one faded, coloured by cluster, and the PEDCC centroids as
// crosses (on the near side) or small crosses (far side).
func PlotSphere(path string, feats []float32, assign []int, k int, cent *Centroids) error {
	const dim = 3
	if len(feats) == 0 || len(feats) != len(assign)*dim {
		return fmt.Errorf("plot %s: the sphere view needs d = 3 features, got %d values for %d samples", path, len(feats), len(assign))
	}
	p := plot.New()
	p.Title.Text = "Latent features on the unit sphere (d=3)"
	p.HideAxes()
	// Guides: outline, equator and meridians (near halves solid).
	guide := func(f func(t float64) [3]float64, outline bool) error {
		var near, far plotter.XYs
		flush := func(seg *plotter.XYs, dashed bool) error {
			if len(*seg) < 2 {
				*seg = nil
				return nil
			}
			l, err := plotter.NewLine(*seg)
			if err != nil {
				return err
			}
			l.Color = color.Gray{Y: 120}
			l.Width = vg.Points(0.7)
			if dashed {
				l.Color = color.Gray{Y: 200}
				l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
			}
			p.Add(l)
			*seg = nil
			return nil
		}
		for i := 0; i <= 180; i++ {
			q := f(2 * math.Pi * float64(i) / 180)
			if !outline {
				q = sphereView(q)
			}
			pt := plotter.XY{X: q[0], Y: q[1]}
			if outline || q[2] >= 0 {
				if err := flush(&far, true); err != nil {
					return err
				}
				near = append(near, pt)
			} else {
				if err := flush(&near, false); err != nil {
					return err
				}
				far = append(far, pt)
			}
		}
		if err := flush(&near, false); err != nil {
			return err
		}
		return flush(&far, true)
	}
	guides := []func(t float64) [3]float64{
		func(t float64) [3]float64 { return [3]float64{math.Cos(t), math.Sin(t), 0} },
		func(t float64) [3]float64 { return [3]float64{math.Cos(t), 0, math.Sin(t)} },
		func(t float64) [3]float64 { return [3]float64{0, math.Cos(t), math.Sin(t)} },
	}
	if err := guide(func(t float64) [3]float64 { return [3]float64{math.Cos(t), math.Sin(t), 0} }, true); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	for _, g := range guides {
		if err := guide(g, false); err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
	}
	near := make([]plotter.XYs, k)
	far := make([]plotter.XYs, k)
	for _, i := range latentPoints(len(assign), 5000) {
		c := assign[i]
		if c < 0 || c >= k {
			continue
		}
		v := [3]float64{float64(feats[3*i]), float64(feats[3*i+1]), float64(feats[3*i+2])}
		n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
		if math.IsNaN(n) || math.IsInf(n, 0) {
			continue
		}
		if n > 0 {
			v = [3]float64{v[0] / n, v[1] / n, v[2] / n}
		}
		q := sphereView(v)
		if q[2] >= 0 {
			near[c] = append(near[c], plotter.XY{X: q[0], Y: q[1]})
		} else {
			far[c] = append(far[c], plotter.XY{X: q[0], Y: q[1]})
		}
	}
	for c, xy := range far {
		if len(xy) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		r, g, b, _ := ClusterColor(c, k).RGBA()
		s.Color = color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 60}
		s.Radius = vg.Points(1.2)
		s.Shape = draw.CircleGlyph{}
		p.Add(s)
	}
	if err := addClusters(p, near, k, 1.6); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if cent != nil && cent.Dim == dim {
		var xy plotter.XYs
		for c := 0; c < cent.Classes; c++ {
			r := cent.Row(c)
			q := sphereView([3]float64{r[0], r[1], r[2]})
			if q[2] >= 0 {
				xy = append(xy, plotter.XY{X: q[0], Y: q[1]})
			}
		}
		if len(xy) > 0 {
			if err := addCentroids(p, xy); err != nil {
				return fmt.Errorf("plot %s: %w", path, err)
			}
		}
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -1.1, 1.1, -1.1, 1.1
	return savePlot(p, 7*vg.Inch, 7*vg.Inch, path)
}
