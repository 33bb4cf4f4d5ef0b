package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vkgrad/vkgrad/cmd/internal/runner"
	"github.com/vkgrad/vkgrad/icbpc"
)

// ablationFile is the table an ablation writes at the top of its folder.
const ablationFile = "ablation.csv"

// ablationRow is one column of Table 6 as measured.
type ablationRow struct {
	col   icbpc.AblationColumn
	dir   string
	rec   icbpc.EpochRecord
	loss  icbpc.LossConfig
	paper [2]float64
}

// ablation runs the four columns of the paper's Table 6 with the budget of
// the configuration (epochs, steps, limits), each in its own results
// folder under -out, and prints them next to the paper's numbers.
func ablation(ctx context.Context, p *parsed, rep *runner.Reporter) error {
	base, err := p.resolve()
	if err != nil {
		return err
	}
	out := p.opt.out
	if out == "" {
		out = filepath.Join("runs", "ablation-"+strings.TrimPrefix(defaultOut(base), "runs"+string(filepath.Separator)))
	}
	if _, err := os.Stat(filepath.Join(out, ablationFile)); err == nil && !p.opt.resume && !p.opt.force {
		return runner.Usagef("%s already holds an ablation; continue it with -resume, start over with -force, or choose another -out", out)
	}
	paper, hasPaper := icbpc.Table6For(base.Data.Dataset)
	var rows []ablationRow
	for i, col := range icbpc.Table6Columns {
		cfg := base
		cfg.Train = col.Apply(base.Train, p.opt.literal)
		dir := filepath.Join(out, fmt.Sprintf("%d-%s", i+1, slug(col.Name)))
		resume := p.opt.resume && runner.HoldsRun(dir)
		if err := runner.CheckOut(dir, resume, p.opt.force); err != nil {
			return err
		}
		rep.Printf("== ablation %d/4: %s (MMD distance %s, contrastive %v)", i+1, col.Name, cfg.Train.Loss.MMDDistance, col.UseContrastive)
		if resume {
			saved, err := runner.ReadConfig(filepath.Join(dir, runner.ConfigFile), icbpc.RunConfig{})
			if err != nil {
				return err
			}
			saved.Train.Epochs = cfg.Train.Epochs
			cfg = saved
		}
		s, err := newSession(cfg, dir, p.opt.keep, p.opt.force, resume, rep)
		if err != nil {
			return err
		}
		if err := s.Run(ctx); err != nil {
			return err
		}
		row := ablationRow{col: col, dir: dir, loss: cfg.Train.Loss}
		if n := len(s.Records); n > 0 {
			row.rec = s.Records[n-1]
		}
		if hasPaper {
			row.paper = paper[i]
		}
		rows = append(rows, row)
	}
	if err := writeAblation(filepath.Join(out, ablationFile), rows, hasPaper); err != nil {
		return err
	}
	printAblation(rep, base, rows, hasPaper, out)
	return nil
}

func slug(s string) string {
	s = strings.ToLower(s)
	s = strings.NewReplacer("+", "-", "(", "", ")", "", " ", "-").Replace(s)
	return strings.Trim(s, "-")
}

func writeAblation(path string, rows []ablationRow, hasPaper bool) error {
	return icbpc.WriteFileAtomic(path, func(w io.Writer) error {
		fmt.Fprintln(w, "column,mmd_distance,contrastive,contrastive_distance,epochs,acc,nmi,ari,paper_acc,paper_nmi,folder")
		for _, r := range rows {
			pa, pn := "", ""
			if hasPaper {
				pa, pn = fmt.Sprint(r.paper[0]), fmt.Sprint(r.paper[1])
			}
			_, err := fmt.Fprintf(w, "%q,%s,%v,%s,%d,%g,%g,%g,%s,%s,%q\n", r.col.Name, r.loss.MMDDistance, r.col.UseContrastive,
				r.loss.ContrastiveDistance, r.rec.Epoch, r.rec.Scores.ACC, r.rec.Scores.NMI, r.rec.Scores.ARI, pa, pn, r.dir)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// printAblation prints the measured table next to the paper's (the
// result goes out even in quiet mode).
func printAblation(rep *runner.Reporter, base icbpc.RunConfig, rows []ablationRow, hasPaper bool, out string) {
	if rep.Mode == runner.JSONLines {
		return // every column's result was already an event
	}
	w := rep.Stdout
	ep := 0
	if len(rows) > 0 {
		ep = rows[0].rec.Epoch
	}
	fmt.Fprintf(w, "\nTable 6 ablation on %s (%d epochs%s), ACC / NMI of the last epoch:\n", base.Data.Dataset, ep, stepsNote(base))
	fmt.Fprintf(w, "%-24s %-11s %-15s %s\n", "column", "MMD kernel", "vkgrad", "paper (400 epochs; MMD kernel composite)")
	for _, r := range rows {
		paper := "-"
		if hasPaper {
			paper = fmt.Sprintf("%.3f / %.3f", r.paper[0], r.paper[1])
		}
		fmt.Fprintf(w, "%-24s %-11s %-15s %s\n", r.col.Name, r.loss.MMDDistance, fmt.Sprintf("%.3f / %.3f", r.rec.Scores.ACC, r.rec.Scores.NMI), paper)
	}
	fmt.Fprintf(w, "table in %s\n", filepath.Join(out, ablationFile))
}

func stepsNote(c icbpc.RunConfig) string {
	note := ""
	if c.Train.StepsPerEpoch > 0 {
		note += fmt.Sprintf(", at most %d steps each", c.Train.StepsPerEpoch)
	}
	if c.Data.TrainLimit > 0 {
		note += fmt.Sprintf(", %d training images", c.Data.TrainLimit)
	}
	return note
}
