// Command compare runs benchmark cases of package bench on a vkgrad
// backend and the same shapes through PyTorch (CPU, torch_bench.py, which is
// embedded), and prints the two side by side with their ratio. PyTorch is
// looked for at /usr/bin/python3 (Debian's python3-torch; a python3 earlier
// on PATH may lack torch); without it only vkgrad's figures are printed.
//
//	go run ./bench/cmd/compare
//	go run ./bench/cmd/compare -backend cpu -run 'matmul/b1-1024x' -benchtime 3s
//	go run ./bench/cmd/compare -run . -o compare.json   # every case of the full suite
//
// Figures are GFLOP/s for matmul and convolution, GB/s for memory-bound
// ops and images/s for training steps; ratio = vkgrad / PyTorch. The ICBPC
// step has no PyTorch counterpart here (its loss lives in Go); the encoder
// step (forward, backward of sum(z*R), Adam) is compared instead.
package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/vkgrad/vkgrad/bench"
	"github.com/vkgrad/vkgrad/tensor"
)

//go:embed torch_bench.py
var torchScript []byte

// defaultRun selects the anchor cases of issue 7: square GEMMs, the
// target convolution and its GEMM, memory-bound ops and the encoder steps.
const defaultRun = `^(matmul/b1-(256x256x256|512x512x512|1024x1024x1024|2048x2048x2048|64x25600x576)|` +
	`conv/n100-c64x16x16-o64-k3s1p1/.*|reduce/sum/.*|elementwise/(relu|add)/.*|batchnorm/.*|adam/.*|trainstep/encoder-.*)$`

// Row is one compared case.
type Row struct {
	Case       string       `json:"case"`
	Unit       string       `json:"unit"`
	VKGrad     float64      `json:"vkgrad"`
	Torch      float64      `json:"torch,omitempty"`
	Ratio      float64      `json:"ratio,omitempty"`
	Result     bench.Result `json:"result"`
	TorchError string       `json:"torch_error,omitempty"`
}

type torchReply struct {
	Torch   string `json:"torch"`
	Threads int    `json:"threads"`
	Results []struct {
		ID           int     `json:"id"`
		SecondsPerOp float64 `json:"seconds_per_op"`
		Iters        int     `json:"iters"`
		Error        string  `json:"error"`
	} `json:"results"`
}

func main() {
	testing.Init()
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	backend := fs.String("backend", "", "vkgrad backend spec (default: the best that opens, as tensor.Best)")
	run := fs.String("run", defaultRun, "cases whose group/name matches this regular expression (from the full suite)")
	benchtime := fs.String("benchtime", "1s", "vkgrad time (or Nx count) per case, as go test -benchtime")
	torchTime := fs.Float64("torchtime", 1, "PyTorch seconds per case")
	python := fs.String("python", "/usr/bin/python3", "Python interpreter with torch")
	threads := fs.Int("threads", runtime.NumCPU(), "PyTorch threads")
	out := fs.String("o", "", "also write the rows as JSON to this file")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := flag.Set("test.benchtime", *benchtime); err != nil {
		fatalf("-benchtime %q: %v", *benchtime, err)
	}
	re, err := regexp.Compile(*run)
	if err != nil {
		fatalf("-run: %v", err)
	}
	var be tensor.Backend
	if *backend != "" {
		be, err = tensor.Open(*backend)
	} else {
		var notices []string
		be, notices, err = tensor.Best()
		for _, n := range notices {
			fmt.Fprintln(os.Stderr, n)
		}
	}
	if err != nil {
		fatalf("%v", err)
	}
	all, err := bench.Suite()
	if err != nil {
		fatalf("%v", err)
	}
	var specs []bench.Spec
	for _, s := range bench.Select(all, "", true) {
		if re.MatchString(s.Group() + "/" + s.Name) {
			specs = append(specs, s)
		}
	}
	if len(specs) == 0 {
		fatalf("no case matches %q", *run)
	}

	tr, torchErr := runTorch(*python, specs, *threads, *torchTime)
	torchName := "PyTorch"
	if torchErr == nil {
		torchName = fmt.Sprintf("PyTorch %s (%d thr)", tr.Torch, tr.Threads)
	} else {
		fmt.Fprintf(os.Stderr, "compare: PyTorch figures unavailable: %v\n", torchErr)
	}

	fmt.Fprintf(os.Stderr, "compare: %d case(s) on %s (%s)\n", len(specs), be.Name(), be.Caps().Device)
	var rows []Row
	tw := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "case\tunit\tvkgrad %s\t%s\tratio\t\n", be.Name(), torchName)
	for i, s := range specs {
		r := bench.Measure(be, s)
		unit := unitOf(s)
		row := Row{Case: s.Group() + "/" + s.Name, Unit: unit, VKGrad: r.Metrics[unit], Result: r}
		if torchErr == nil {
			t := tr.Results[i]
			switch {
			case t.Error != "":
				row.TorchError = t.Error
			case t.SecondsPerOp > 0:
				row.Torch = rate(s, unit, t.SecondsPerOp)
			}
		}
		if row.Torch > 0 && row.VKGrad > 0 {
			row.Ratio = row.VKGrad / row.Torch
		}
		rows = append(rows, row)
		vk := "FAIL"
		if r.Error == "" {
			vk = fmt.Sprintf("%.4g", row.VKGrad)
		} else {
			fmt.Fprintf(os.Stderr, "%s: %s\n", row.Case, r.Error)
		}
		th, ratio := "-", "-"
		if row.Torch > 0 {
			th = fmt.Sprintf("%.4g", row.Torch)
		}
		if row.Ratio > 0 {
			ratio = fmt.Sprintf("%.3f", row.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", row.Case, unit, vk, th, ratio)
	}
	tw.Flush()
	if *out != "" {
		data, err := json.MarshalIndent(map[string]any{
			"date": time.Now().UTC().Format(time.RFC3339), "backend": be.Name(), "device": be.Caps().Device,
			"torch": torchName, "rows": rows,
		}, "", "  ")
		if err != nil {
			fatalf("%v", err)
		}
		if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
			fatalf("%v", err)
		}
	}
}

// unitOf is the figure a case is compared on.
func unitOf(s bench.Spec) string {
	switch {
	case s.Kind == bench.KindTrainStep || s.Kind == bench.KindEncoderStep:
		return "images/s"
	case s.Cost().Bound == bench.MemoryBound:
		return "GB/s"
	}
	return "GFLOP/s"
}

// rate converts PyTorch's seconds per op into the unit.
func rate(s bench.Spec, unit string, sec float64) float64 {
	c := s.Cost()
	switch unit {
	case "images/s":
		return float64(s.Images) / sec
	case "GB/s":
		return c.Bytes / sec / 1e9
	}
	return c.Flops / sec / 1e9
}

// torchCase is a spec as torch_bench.py reads it.
func torchCase(id int, s bench.Spec) map[string]any {
	c := map[string]any{"id": id, "kind": string(s.Kind)}
	switch s.Kind {
	case bench.KindMatMul:
		c["batch"], c["m"], c["n"], c["k"], c["trans_a"], c["trans_b"] = s.Batch, s.M, s.N, s.K, s.TransA, s.TransB
	case bench.KindConvForward, bench.KindConvBackData, bench.KindConvBackWeight:
		c["conv"] = s.Conv
	case bench.KindReduce:
		c["op"], c["outer"], c["len"], c["inner"] = s.Reduce.String(), s.Outer, s.Len, s.Inner
	case bench.KindUnary:
		c["op"], c["shape"] = s.Unary.String(), s.Shape
	case bench.KindBinary:
		c["op"], c["shape"], c["bshape"] = s.Binary.String(), s.Shape, s.BShape
	case bench.KindCopy:
		c["shape"] = s.Shape
	case bench.KindBatchNorm:
		c["bn"] = s.BN
	case bench.KindAdam:
		c["elems"] = s.Elems
	case bench.KindEncoderStep, bench.KindTrainStep:
		c["encoder"], c["images"] = s.Encoder, s.Images
	}
	return c
}

// runTorch times every spec in PyTorch, in one Python process.
func runTorch(python string, specs []bench.Spec, threads int, seconds float64) (*torchReply, error) {
	if _, err := os.Stat(python); err != nil {
		return nil, fmt.Errorf("no interpreter: %w", err)
	}
	if out, err := exec.Command(python, "-c", "import torch").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s cannot import torch (install python3-torch): %v: %s", python, err, strings.TrimSpace(string(out)))
	}
	cases := make([]map[string]any, len(specs))
	for i, s := range specs {
		cases[i] = torchCase(i, s)
	}
	req, err := json.Marshal(map[string]any{"threads": threads, "seconds": seconds, "cases": cases})
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "torch_bench-*.py")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(torchScript); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "compare: timing %d case(s) in PyTorch (%s)...\n", len(specs), python)
	cmd := exec.Command(python, f.Name())
	cmd.Stdin = bytes.NewReader(req)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("torch_bench.py: %w", err)
	}
	var rep torchReply
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("torch_bench.py output: %w", err)
	}
	if len(rep.Results) != len(specs) {
		return nil, fmt.Errorf("torch_bench.py returned %d results for %d cases", len(rep.Results), len(specs))
	}
	return &rep, nil
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...)
	os.Exit(1)
}
