// Command report runs vkgrad's benchmark suite (package bench) on every
// backend that opens, or the ones named by -backends, and writes one JSON
// report: the host, each backend's device and driver, its measured
// ceilings, and every benchmark's figures (GFLOP/s, GB/s, images/s and %
// of ceiling). It is how figures from NVIDIA, AMD and Intel machines reach
// the README table:
//
//	go run ./bench/cmd/report -o report.json
//	go run ./bench/cmd/report -backends vulkan -full -benchtime 2s -o gpu.json
//	go run ./bench/cmd/report -run 'matmul|conv/n100-c64x16x16' -o some.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vkgrad/vkgrad/bench"
	"github.com/vkgrad/vkgrad/tensor/vulkan"
)

// Report is the JSON document.
type Report struct {
	Date      string          `json:"date"`
	Go        string          `json:"go"`
	OS        string          `json:"os"`
	Arch      string          `json:"arch"`
	CPU       string          `json:"cpu"`
	CPUs      int             `json:"cpus"`
	LoadStart string          `json:"load_start"` // /proc/loadavg before the run
	LoadEnd   string          `json:"load_end"`
	Full      bool            `json:"full"`
	BenchTime string          `json:"benchtime"`
	Filter    string          `json:"filter,omitempty"`
	Backends  []BackendReport `json:"backends"`
	Skipped   []string        `json:"skipped,omitempty"`
}

// BackendReport is one backend's part of the report.
type BackendReport struct {
	Backend  string             `json:"backend"`
	Device   string             `json:"device"`
	Vulkan   *vulkan.DeviceInfo `json:"vulkan,omitempty"`
	Ceilings *bench.Ceilings    `json:"ceilings,omitempty"`
	Probe    *bench.Result      `json:"ceiling_benchmark,omitempty"`
	Results  []bench.Result     `json:"results"`
	Failures int                `json:"failures"`
}

func main() {
	testing.Init()
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	out := fs.String("o", "", "write the JSON report to this file (default: stdout)")
	backends := fs.String("backends", "", "comma-separated backend specs (default: every registered backend; VKGRAD_BENCH_BACKENDS)")
	full := fs.Bool("full", bench.FullFromEnv(), "include the full-mode shapes (VKGRAD_BENCH_FULL)")
	benchtime := fs.String("benchtime", "1s", "time (or Nx count) per benchmark, as go test -benchtime")
	run := fs.String("run", "", "only benchmarks whose group/name matches this regular expression")
	quiet := fs.Bool("q", false, "do not print a line per benchmark on stderr")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := flag.Set("test.benchtime", *benchtime); err != nil {
		fatalf("-benchtime %q: %v", *benchtime, err)
	}
	var filter *regexp.Regexp
	if *run != "" {
		var err error
		if filter, err = regexp.Compile(*run); err != nil {
			fatalf("-run: %v", err)
		}
	}
	if *backends != "" {
		os.Setenv(bench.EnvBackends, *backends)
	}
	specs, err := bench.Suite()
	if err != nil {
		fatalf("%v", err)
	}
	specs = bench.Select(specs, "", *full)
	rep := Report{
		Date: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPU: cpuModel(), CPUs: runtime.NumCPU(), LoadStart: loadavg(), Full: *full, BenchTime: *benchtime, Filter: *run,
	}
	failed := 0
	for _, name := range bench.BackendSpecs() {
		be, err := bench.OpenBackend(name)
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", name, err))
			logf(*quiet, "backend %s skipped: %v", name, err)
			continue
		}
		br := BackendReport{Backend: name, Device: be.Caps().Device}
		if vb, ok := be.(interface{ Info() vulkan.DeviceInfo }); ok {
			info := vb.Info()
			br.Vulkan = &info
		}
		logf(*quiet, "%s: %s", name, br.Device)
		probe := bench.MeasureCeiling(be)
		br.Probe = &probe
		if c, err := bench.CeilingsFor(be); err == nil {
			br.Ceilings = &c
		} else {
			logf(*quiet, "  ceilings: %v", err)
		}
		for _, s := range specs {
			if filter != nil && !filter.MatchString(s.Group()+"/"+s.Name) {
				continue
			}
			r := bench.Measure(be, s)
			br.Results = append(br.Results, r)
			if r.Error != "" {
				br.Failures++
				failed++
				logf(*quiet, "  %s/%s: FAIL %s", s.Group(), s.Name, r.Error)
				continue
			}
			logf(*quiet, "  %s/%s: %s", s.Group(), s.Name, format(r.Metrics))
		}
		rep.Backends = append(rep.Backends, br)
	}
	rep.LoadEnd = loadavg()
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		fatalf("%v", err)
	}
	data = append(data, '\n')
	if *out == "" {
		os.Stdout.Write(data)
	} else if err := os.WriteFile(*out, data, 0o644); err != nil {
		fatalf("%v", err)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "report: %d benchmark(s) failed\n", failed)
		os.Exit(1)
	}
}

// format renders the metrics of a result on one line.
func format(m map[string]float64) string {
	var parts []string
	for _, k := range []string{"GFLOP/s", "GB/s", "images/s", "%FMA", "%copy"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%.4g %s", v, k))
		}
	}
	return strings.Join(parts, ", ")
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

func logf(quiet bool, format string, args ...any) {
	if !quiet {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "report: "+format+"\n", args...)
	os.Exit(1)
}
