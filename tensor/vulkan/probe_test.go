//go:build cgo && linux && !android

package vulkan

import (
	"testing"
)

// TestProbes runs each ceiling probe once at a small size and checks the
// work it reports and that bad sizes are refused.
func TestProbes(t *testing.T) {
	b := testBackend(t)
	cases := []struct {
		name string
		run  func() (ProbeResult, error)
		work float64
	}{
		{"fma", func() (ProbeResult, error) { return b.ProbeFMA(1000, 10) }, 64 * 1000 * 10},
		{"copy", func() (ProbeResult, error) { return b.ProbeCopy(4099, 2, false) }, 8 * 4099 * 2},
		{"copy4", func() (ProbeResult, error) { return b.ProbeCopy(4096, 3, true) }, 8 * 4096 * 3},
		{"dispatch", func() (ProbeResult, error) { return b.ProbeDispatch(7, false) }, 7},
		{"dispatch-chained", func() (ProbeResult, error) { return b.ProbeDispatch(7, true) }, 7},
		{"submit", func() (ProbeResult, error) { return b.ProbeSubmit(3) }, 3},
		{"load", func() (ProbeResult, error) { return b.ProbeLoad(100, 10, false) }, 1000},
		{"load4", func() (ProbeResult, error) { return b.ProbeLoad(100, 10, true) }, 4000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := b.Stats()
			r, err := c.run()
			if err != nil {
				t.Fatal(err)
			}
			if r.Work != c.work || r.Elapsed <= 0 || r.Rate() <= 0 {
				t.Errorf("got %+v (rate %g), want work %g and a positive time", r, r.Rate(), c.work)
			}
			if after := b.Stats(); after.Dispatches == before.Dispatches {
				t.Errorf("no dispatch recorded: %+v", after)
			}
		})
	}
	bad := []struct {
		name string
		run  func() (ProbeResult, error)
	}{
		{"fma-zero", func() (ProbeResult, error) { return b.ProbeFMA(0, 1) }},
		{"copy-unaligned-vec4", func() (ProbeResult, error) { return b.ProbeCopy(6, 1, true) }},
		{"copy-too-big", func() (ProbeResult, error) { return b.ProbeCopy(1<<30, 1, false) }},
		{"dispatch-too-many", func() (ProbeResult, error) { return b.ProbeDispatch(1<<20, false) }},
		{"submit-zero", func() (ProbeResult, error) { return b.ProbeSubmit(0) }},
		{"load-zero", func() (ProbeResult, error) { return b.ProbeLoad(0, 1, false) }},
	}
	for _, c := range bad {
		if _, err := c.run(); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
}
