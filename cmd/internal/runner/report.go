package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/vkgrad/vkgrad/icbpc"
)

// Mode selects how a Reporter talks.
type Mode int

const (
	// Human prints a progress bar per epoch on stderr (when it is a
	// terminal) and one summary line per epoch on stdout.
	Human Mode = iota
	// Quiet prints only the final result and errors.
	Quiet
	// JSONLines prints one JSON object per event on stdout and nothing
	// else (errors also go to stderr as text).
	JSONLines
)

// Reporter writes a run's progress for people or scripts.
type Reporter struct {
	Mode   Mode
	Stdout io.Writer
	Stderr io.Writer
	// Bar forces the progress bar on (true) even when stderr is not a
	// terminal; by default it is shown only on a terminal.
	Bar bool

	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	enc     *json.Encoder
	started time.Time
}

// NewReporter returns a reporter writing to stdout and stderr.
func NewReporter(mode Mode, stdout, stderr io.Writer) *Reporter {
	r := &Reporter{Mode: mode, Stdout: stdout, Stderr: stderr}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		r.Bar = true
	}
	return r
}

func (r *Reporter) event(v any) {
	if r.enc == nil {
		r.enc = json.NewEncoder(r.Stdout)
	}
	r.enc.Encode(v) // a broken stdout cannot be reported anywhere useful
}

// Printf prints a human line (not in quiet or JSON mode).
func (r *Reporter) Printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Mode == Human {
		r.clearBar()
		fmt.Fprintf(r.Stdout, format+"\n", args...)
	}
}

// Notice prints a one-line notice on stderr (an event in JSON mode).
func (r *Reporter) Notice(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	if r.Mode == JSONLines {
		r.event(struct {
			Event   string `json:"event"`
			Message string `json:"message"`
		}{"notice", msg})
		return
	}
	r.clearBar()
	fmt.Fprintln(r.Stderr, msg)
}

// Error reports a fatal error: one line on stderr, and an event in JSON
// mode.
func (r *Reporter) Error(prog string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearBar()
	if r.Mode == JSONLines {
		r.event(struct {
			Event   string `json:"event"`
			Message string `json:"message"`
			Code    int    `json:"exit_code"`
		}{"error", OneLine(err), ExitCode(err)})
	}
	fmt.Fprintf(r.Stderr, "%s: %s\n", prog, OneLine(err))
}

func (r *Reporter) clearBar() {
	if r.bar != nil {
		r.bar.Clear()
	}
}

// StartInfo describes a run for its first line.
type StartInfo struct {
	Out         string          `json:"out"`
	Backend     string          `json:"backend"`
	Config      icbpc.RunConfig `json:"config"`
	TrainImages int             `json:"train_images"`
	TestImages  int             `json:"test_images"`
	Shape       string          `json:"shape"`
	Classes     int             `json:"classes"`
	Params      int             `json:"params"`
	Resumed     bool            `json:"resumed"`
	Epoch       int             `json:"epoch"`
	Step        int64           `json:"step"`
	Augment     string          `json:"augment"`
}

// Start announces the run.
func (r *Reporter) Start(s StartInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = time.Now()
	switch r.Mode {
	case JSONLines:
		r.event(struct {
			Event string `json:"event"`
			StartInfo
		}{"start", s})
	case Human:
		c := s.Config
		l := c.Train.Loss
		losses := []string{}
		if l.UseMMD {
			losses = append(losses, fmt.Sprintf("MMD(%s, %s)", l.MMDDistance, l.Estimator))
		}
		if l.UseContrastive {
			losses = append(losses, fmt.Sprintf("%g*contrastive(%s)", l.Lambda, l.ContrastiveDistance))
		}
		if l.L1Weight != 0 {
			losses = append(losses, fmt.Sprintf("%g*L1", l.L1Weight))
		}
		fmt.Fprintf(r.Stdout, "vkgrad ICBPC: preset %s, %s: %d train / %d test images of %s, k=%d\n",
			c.Preset, c.Data.Dataset, s.TrainImages, s.TestImages, s.Shape, s.Classes)
		fmt.Fprintf(r.Stdout, "  encoder %s x%g (%d parameters), d=%d, %s, batch %d, lr %g, %d epochs, seed %d\n",
			c.Train.Encoder, c.Train.Width, s.Params, c.Train.LatentDim, strings.Join(losses, " + "),
			c.Train.BatchSize, c.Train.LR, c.Train.Epochs, c.Train.Seed)
		fmt.Fprintf(r.Stdout, "  augmentation %s; backend %s; results in %s\n", s.Augment, s.Backend, s.Out)
		if s.Resumed {
			fmt.Fprintf(r.Stdout, "  resumed at epoch %d, step %d\n", s.Epoch, s.Step)
		}
	}
}

// StartEpoch begins the progress bar of an epoch of steps steps (done of
// them already taken when resuming mid-epoch) of batch images.
func (r *Reporter) StartEpoch(epoch, epochs, steps, done, batch int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Mode != Human || !r.Bar {
		return
	}
	r.bar = progressbar.NewOptions(steps*batch,
		progressbar.OptionSetWriter(r.Stderr),
		progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, epochs)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("img"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionShowDescriptionAtLineEnd(),
	)
	if done > 0 {
		r.bar.Set(done * batch)
	}
}

// Step reports one step with the running means of the epoch so far.
func (r *Reporter) Step(epochs int, info icbpc.StepInfo, mean icbpc.EpochStats, imagesPerSec float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.Mode {
	case JSONLines:
		r.event(struct {
			Event        string  `json:"event"`
			Epoch        int     `json:"epoch"`
			Step         int     `json:"step"`
			StepInEpoch  int     `json:"step_in_epoch"`
			StepsInEpoch int     `json:"steps_in_epoch"`
			Loss         float64 `json:"loss"`
			MMD          float64 `json:"mmd"`
			Contrastive  float64 `json:"contrastive"`
			L1           float64 `json:"l1"`
			ImagesPerSec float64 `json:"images_per_s"`
		}{"step", info.Epoch + 1, info.Step, info.StepInEpoch + 1, info.StepsInEpoch,
			info.Loss, info.MMD, info.Contrastive, info.L1, imagesPerSec})
	case Human:
		if r.bar == nil {
			return
		}
		d := fmt.Sprintf("epoch %d/%d loss %.4f", info.Epoch+1, epochs, mean.Loss)
		if mean.MMD != 0 {
			d += fmt.Sprintf(" mmd %.4f", mean.MMD)
		}
		if mean.Contrastive != 0 {
			d += fmt.Sprintf(" con %.4f", mean.Contrastive)
		}
		if mean.L1 != 0 {
			d += fmt.Sprintf(" l1 %.4f", mean.L1)
		}
		r.bar.Describe(d)
		r.bar.Add(info.Images)
	}
}

func scoreText(rec icbpc.EpochRecord) string {
	if !rec.HasScores {
		return "(no labels)"
	}
	return fmt.Sprintf("ACC %.4f NMI %.4f ARI %.4f", rec.Scores.ACC, rec.Scores.NMI, rec.Scores.ARI)
}

// EndEpoch prints the summary line of an epoch.
func (r *Reporter) EndEpoch(rec icbpc.EpochRecord, epochs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bar != nil {
		r.bar.Finish()
		r.bar = nil
	}
	switch r.Mode {
	case JSONLines:
		r.event(struct {
			Event  string `json:"event"`
			Epochs int    `json:"epochs"`
			icbpc.EpochRecord
		}{"epoch", epochs, rec})
	case Human:
		parts := fmt.Sprintf("loss %.4f", rec.Loss)
		var terms []string
		if rec.MMD != 0 {
			terms = append(terms, fmt.Sprintf("mmd %.4f", rec.MMD))
		}
		if rec.Contrastive != 0 {
			terms = append(terms, fmt.Sprintf("con %.4f", rec.Contrastive))
		}
		if rec.L1 != 0 {
			terms = append(terms, fmt.Sprintf("l1 %.4f", rec.L1))
		}
		if len(terms) > 0 {
			parts += " (" + strings.Join(terms, " ") + ")"
		}
		fmt.Fprintf(r.Stdout, "epoch %d/%d  %s  %s  %.1fs (%.0f img/s, eval %.1fs)\n",
			rec.Epoch, epochs, parts, scoreText(rec), rec.Seconds, rec.ImagesPerSec, rec.EvalSeconds)
	}
}

// Checkpoint reports a written checkpoint (JSON mode only).
func (r *Reporter) Checkpoint(path string, epoch int, step int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Mode == JSONLines {
		r.event(struct {
			Event string `json:"event"`
			Path  string `json:"path"`
			Epoch int    `json:"epoch"`
			Step  int64  `json:"step"`
		}{"checkpoint", path, epoch, step})
	}
}

// Interrupted reports a run stopped by a signal after its checkpoint
// (epoch epochs complete, step steps taken, spe steps per epoch).
func (r *Reporter) Interrupted(ckpt, out string, epoch int, step int64, spe int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearBar()
	r.bar = nil
	if r.Mode == JSONLines {
		r.event(struct {
			Event      string `json:"event"`
			Checkpoint string `json:"checkpoint"`
			Epoch      int    `json:"epoch"`
			Step       int64  `json:"step"`
		}{"interrupted", ckpt, epoch, step})
		return
	}
	where := fmt.Sprintf("after epoch %d", epoch)
	if in := int(step - int64(epoch)*int64(spe)); in > 0 {
		where = fmt.Sprintf("in epoch %d at step %d of %d", epoch+1, in, spe)
	}
	fmt.Fprintf(r.Stderr, "interrupted: checkpoint %s written %s; continue with -resume -out %s\n", ckpt, where, out)
}

// Done prints the result: the last epoch's scores, and the best epoch
// labelled as chosen with the test labels.
func (r *Reporter) Done(recs []icbpc.EpochRecord, out string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	last := recs[len(recs)-1]
	best := icbpc.BestEpoch(recs)
	elapsed := time.Since(r.started).Seconds()
	if r.Mode == JSONLines {
		ev := struct {
			Event     string       `json:"event"`
			Epoch     int          `json:"epoch"`
			HasScores bool         `json:"has_scores"`
			Scores    icbpc.Scores `json:"scores"`
			BestEpoch int          `json:"best_epoch,omitempty"`
			BestACC   float64      `json:"best_acc,omitempty"`
			Out       string       `json:"out"`
			Seconds   float64      `json:"seconds"`
		}{Event: "done", Epoch: last.Epoch, HasScores: last.HasScores, Scores: last.Scores, Out: out, Seconds: elapsed}
		if best >= 0 {
			ev.BestEpoch, ev.BestACC = recs[best].Epoch, recs[best].Scores.ACC
		}
		r.event(ev)
		return
	}
	fmt.Fprintf(r.Stdout, "result (last epoch %d): %s\n", last.Epoch, scoreText(last))
	if best >= 0 && last.HasScores && recs[best].Scores.ACC > last.Scores.ACC && r.Mode == Human {
		fmt.Fprintf(r.Stdout, "  (best epoch %d: ACC %.4f NMI %.4f; chosen with the test labels, for reference only)\n",
			recs[best].Epoch, recs[best].Scores.ACC, recs[best].Scores.NMI)
	}
	if r.Mode == Human {
		fmt.Fprintf(r.Stdout, "results in %s (%.0fs)\n", out, elapsed)
	}
}
