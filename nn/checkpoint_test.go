package nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

func smallReleased(t testing.TB, seed uint64, d int) *Encoder {
	t.Helper()
	e, err := NewReleasedEncoder(cpu(t), seeded(seed), EncoderConfig{LatentDim: d, Width: 0.125})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// snapshot copies every parameter and buffer of m to the host.
func snapshot(m Module) map[string][]float32 {
	out := map[string][]float32{}
	for _, s := range modelSlots(m) {
		if s.Counter != nil {
			out[s.Name] = []float32{float32(*s.Counter)}
		} else {
			out[s.Name] = s.Tensor.Float32s()
		}
	}
	return out
}

func sameSnapshot(t *testing.T, what string, a, b map[string][]float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d entries", what, len(a), len(b))
	}
	for n, v := range a {
		if !equalF(v, b[n]) {
			t.Fatalf("%s: %s differs", what, n)
		}
	}
}

// TestCheckpointRoundTrip trains a model two steps, saves it, loads it into
// a differently initialised model and optimizer, and checks identical
// eval-mode outputs, identical parameters, buffers and metadata, and that
// one more training step gives bit-identical results on both.
func TestCheckpointRoundTrip(t *testing.T) {
	b := cpu(t)
	x := randInput(b, 2, 4, 1, 32, 32)
	r := randInput(b, 3, 4, 8)
	for _, kind := range []string{"adam", "sgd"} {
		t.Run(kind, func(t *testing.T) {
			newOpt := func(m Module) Optimizer {
				var o Optimizer
				var err error
				if kind == "adam" {
					o, err = NewAdam(m.Params(), DefaultAdamConfig())
				} else {
					o, err = NewSGD(m.Params(), SGDConfig{LR: 0.05, Momentum: 0.9})
				}
				if err != nil {
					t.Fatal(err)
				}
				return o
			}
			a := smallReleased(t, 1, 8)
			Freeze(a, "block2.conv1") // state must round-trip with a parameter that has none
			optA := newOpt(a)
			for i := 0; i < 2; i++ {
				trainStep(t, a, optA, x, r)
			}
			pcg := rand.NewPCG(42, 43)
			pcg.Uint64()
			rngState, err := pcg.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "ckpt.safetensors")
			meta := Meta{Step: 2, Epoch: 1, RNG: rngState, Extra: map[string]string{"dataset": "mnist"}}
			if err := SaveCheckpoint(path, a, optA, meta); err != nil {
				t.Fatal(err)
			}

			bm := smallReleased(t, 99, 8)
			Freeze(bm, "block2.conv1")
			optB := newOpt(bm)
			got, err := LoadCheckpoint(path, bm, optB)
			if err != nil {
				t.Fatal(err)
			}
			if got.Step != 2 || got.Epoch != 1 || !bytes.Equal(got.RNG, rngState) || got.Extra["dataset"] != "mnist" {
				t.Fatalf("meta %+v, want %+v", got, meta)
			}
			if want := optA.Hyperparams()["type"]; got.Optimizer["type"] != want {
				t.Errorf("optimizer type %q, want %q", got.Optimizer["type"], want)
			}
			restored := rand.NewPCG(0, 0)
			if err := restored.UnmarshalBinary(got.RNG); err != nil || restored.Uint64() != pcg.Uint64() {
				t.Errorf("RNG state did not round-trip (%v)", err)
			}
			sameSnapshot(t, "after load", snapshot(a), snapshot(bm))
			if len(optA.State()) != len(optB.State()) {
				t.Fatalf("optimizer state: %d entries saved, %d restored", len(optA.State()), len(optB.State()))
			}

			a.SetTraining(false)
			bm.SetTraining(false)
			if !equalF(a.Forward(x).Value.Float32s(), bm.Forward(x).Value.Float32s()) {
				t.Fatal("eval outputs differ after load")
			}
			a.SetTraining(true)
			bm.SetTraining(true)
			trainStep(t, a, optA, x, r)
			trainStep(t, bm, optB, x, r)
			sameSnapshot(t, "after one more step", snapshot(a), snapshot(bm))
		})
	}
}

// TestStateDictFromPyTorch loads a state dict written by PyTorch (the
// golden weights) strictly and checks a few values against the file.
func TestStateDictFromPyTorch(t *testing.T) {
	e := smallReleased(t, 1, 8)
	path := filepath.Join("testdata", "golden_released_weights.safetensors")
	rep, err := LoadStateDict(path, e, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Loaded != len(modelSlots(e)) || len(rep.Missing)+len(rep.Unexpected) != 0 {
		t.Fatalf("report %+v", rep)
	}
	file, meta, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" {
		t.Errorf("metadata %v", meta)
	}
	if h := file["block3.bn2.num_batches_tracked"]; h.DType != "I64" || e.Stages[2].Module.(*BasicBlock).BN2.NumBatchesTracked != h.Ints[0] {
		t.Errorf("num_batches_tracked %v not loaded", h)
	}
	if !equalF(file["block4.conv1.weight"].Floats, paramValue(e, "block4.conv1.weight")) {
		t.Error("block4.conv1.weight differs from the file")
	}
}

func paramValue(m Module, name string) []float32 {
	for _, p := range m.Params() {
		if p.Name == name {
			return p.Var.Value.Float32s()
		}
	}
	return nil
}

// TestLoadWrongArchitecture checks the complete, exact report for a
// checkpoint of another architecture or another latent size, and that a
// failed load changes nothing.
func TestLoadWrongArchitecture(t *testing.T) {
	b := cpu(t)
	dir := t.TempDir()
	t3, err := NewTable3Encoder(b, seeded(1), EncoderConfig{LatentDim: 8, Width: 0.125})
	if err != nil {
		t.Fatal(err)
	}
	t3path := filepath.Join(dir, "table3.safetensors")
	if err := SaveStateDict(t3path, t3); err != nil {
		t.Fatal(err)
	}
	e := smallReleased(t, 1, 8)
	before := snapshot(e)
	_, err = LoadCheckpoint(t3path, e, nil)
	var se *StateDictError
	if !errors.As(err, &se) {
		t.Fatalf("error %v, want *StateDictError", err)
	}
	if len(se.Missing) != len(modelSlots(e)) || len(se.Unexpected) != len(modelSlots(t3)) || len(se.Mismatched) != 0 {
		t.Errorf("missing %d (want %d), unexpected %d (want %d), mismatched %d",
			len(se.Missing), len(modelSlots(e)), len(se.Unexpected), len(modelSlots(t3)), len(se.Mismatched))
	}
	if !slices.Contains(se.Missing, "block1.0.weight") || !slices.Contains(se.Unexpected, "layer1.0.downsample.1.running_var") {
		t.Errorf("report lacks expected names: %v", err)
	}
	if !strings.Contains(err.Error(), t3path) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("message %q does not name the file and the problem", err)
	}
	sameSnapshot(t, "after failed load", before, snapshot(e))

	// Same architecture, other latent size: only the head mismatches, and
	// nothing is loaded, not even the matching entries.
	d10 := smallReleased(t, 2, 10)
	d10path := filepath.Join(dir, "d10.safetensors")
	if err := SaveStateDict(d10path, d10); err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{true, false} {
		_, err = LoadStateDict(d10path, e, strict)
		if !errors.As(err, &se) {
			t.Fatalf("error %v, want *StateDictError", err)
		}
		want := []string{
			"Linear_down.bias: file has F32 [10], model expects float32 [8]",
			"Linear_down.weight: file has F32 [10 64], model expects float32 [8 64]",
		}
		if !slices.Equal(se.Mismatched, want) || len(se.Missing)+len(se.Unexpected) != 0 {
			t.Errorf("strict=%v: report %+v, want mismatched %v", strict, se, want)
		}
		sameSnapshot(t, "after mismatched load", before, snapshot(e))
	}

	// Non-strict load of a partial state dict reports what it skipped.
	part := map[string]HostTensor{}
	for _, s := range modelSlots(d10) {
		if strings.HasPrefix(s.Name, "block1.") {
			part[s.Name] = HostTensor{Shape: s.Shape(), Floats: hostFloats(s)}
		}
	}
	part["extra.thing"] = HostTensor{Shape: []int{2}, Floats: []float32{1, 2}}
	partPath := filepath.Join(dir, "part.safetensors")
	if err := WriteSafetensors(partPath, part, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := LoadStateDict(partPath, e, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Loaded != 7 || len(rep.Missing) != len(modelSlots(e))-7 || !slices.Equal(rep.Unexpected, []string{"extra.thing"}) {
		t.Errorf("non-strict report: loaded %d, %d missing, unexpected %v", rep.Loaded, len(rep.Missing), rep.Unexpected)
	}
	if !equalF(paramValue(e, "block1.0.weight"), paramValue(d10, "block1.0.weight")) {
		t.Error("non-strict load did not copy block1.0.weight")
	}
	if _, err := LoadStateDict(partPath, e, true); !errors.As(err, &se) {
		t.Errorf("strict partial load: %v", err)
	}
	if _, err := LoadStateDict(partPath, e, true, "extra.", "block"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("strict load skipping everything: %v", err)
	}
}

func hostFloats(s NamedBuffer) []float32 {
	if s.Counter != nil {
		return []float32{float32(*s.Counter)}
	}
	return s.Tensor.Float32s()
}

// TestLoadDTypes checks dtype handling: PyTorch-style float16/bfloat16/
// float64 weights convert, an int64 or float counter loads, and an integer
// tensor for a float parameter or a non-scalar counter is reported.
func TestLoadDTypes(t *testing.T) {
	b := cpu(t)
	bn := NewBatchNorm2d(b, 2)
	dir := t.TempDir()
	write := func(name string, entries []stEntry) string {
		var buf bytes.Buffer
		if err := writeSafetensors(&buf, entries, nil); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	raw := func(name, dt string, shape []int, words ...uint64) stEntry {
		size := dtypeSize[dt]
		data := make([]byte, size*len(words))
		for i, w := range words {
			switch size {
			case 8:
				binary.LittleEndian.PutUint64(data[8*i:], w)
			case 4:
				binary.LittleEndian.PutUint32(data[4*i:], uint32(w))
			case 2:
				binary.LittleEndian.PutUint16(data[2*i:], uint16(w))
			}
		}
		return stEntry{name: name, dtype: dt, shape: shape, data: data}
	}
	good := write("good.safetensors", []stEntry{
		raw("weight", "F16", []int{2}, 0x3c00, 0xc000),                                       // 1, -2
		raw("bias", "BF16", []int{2}, 0x3f80, 0x4040),                                        // 1, 3
		raw("running_mean", "F64", []int{2}, math.Float64bits(0.25), math.Float64bits(-1.5)), // 0.25, -1.5
		raw("running_var", "F32", []int{2}, uint64(math.Float32bits(2)), uint64(math.Float32bits(0.5))),
		raw("num_batches_tracked", "F32", []int{}, uint64(math.Float32bits(7))),
	})
	if _, err := LoadStateDict(good, bn, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want []float32
	}{
		{"weight", bn.Weight.Value.Float32s(), []float32{1, -2}}, {"bias", bn.Bias.Value.Float32s(), []float32{1, 3}},
		{"running_mean", bn.RunningMean.Float32s(), []float32{0.25, -1.5}}, {"running_var", bn.RunningVar.Float32s(), []float32{2, 0.5}},
	} {
		if !equalF(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if bn.NumBatchesTracked != 7 {
		t.Errorf("num_batches_tracked = %d, want 7", bn.NumBatchesTracked)
	}
	bad := write("bad.safetensors", []stEntry{
		raw("weight", "F32", []int{2}, 0, 0),
		raw("bias", "F32", []int{2}, 0, 0),
		raw("running_mean", "I32", []int{2}, 1, 2),
		raw("running_var", "F32", []int{1, 2}, 0, 0),
		raw("num_batches_tracked", "I64", []int{1}, 3),
	})
	_, err := LoadStateDict(bad, bn, true)
	var se *StateDictError
	if !errors.As(err, &se) {
		t.Fatalf("error %v, want *StateDictError", err)
	}
	want := []string{
		"num_batches_tracked: file has I64 [1], model expects an integer scalar []",
		"running_mean: file has I32 [2], model expects float32 [2]",
		"running_var: file has F32 [1 2], model expects float32 [2]",
	}
	if !slices.Equal(se.Mismatched, want) {
		t.Errorf("mismatched %q, want %q", se.Mismatched, want)
	}
	for h, want := range map[uint16]float32{0x0001: 5.9604645e-08, 0x7bff: 65504, 0x8000: float32(math.Copysign(0, -1)), 0x3555: 0.33325195} {
		if got := halfToFloat(h); got != want || math.Signbit(float64(got)) != math.Signbit(float64(want)) {
			t.Errorf("halfToFloat(%#04x) = %v, want %v", h, got, want)
		}
	}
	if got := halfToFloat(0x7c00); !math.IsInf(float64(got), 1) {
		t.Errorf("halfToFloat(inf) = %v", got)
	}
}

// TestCorruptFiles checks that truncated and malformed files give an error
// wrapping ErrCorrupt that names the file.
func TestCorruptFiles(t *testing.T) {
	e := smallReleased(t, 1, 8)
	dir := t.TempDir()
	path := filepath.Join(dir, "good.safetensors")
	if err := SaveCheckpoint(path, e, nil, Meta{Step: 3}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hlen := int(binary.LittleEndian.Uint64(data))
	withLen := func(n uint64) []byte {
		c := bytes.Clone(data)
		binary.LittleEndian.PutUint64(c, n)
		return c
	}
	cases := map[string][]byte{
		"empty":           {},
		"short":           data[:5],
		"header-cut":      data[:8+hlen/2],
		"data-cut":        data[:len(data)-1],
		"huge-header":     withLen(1 << 40),
		"not-json":        append(append(withLen(4)[:8], "{abc"...), data[8+hlen:]...),
		"bad-dtype":       bytes.Replace(data, []byte(`"dtype":"F32"`), []byte(`"dtype":"Q32"`), 1),
		"bad-metadata":    bytes.Replace(data, []byte(`"step":"3"`), []byte(`"step":"x"`), 1),
		"offsets-no-size": bytes.Replace(data, []byte(`"shape":[4,1,3,3]`), []byte(`"shape":[4,1,3,4]`), 1),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(content, data) {
				t.Fatal("corruption did not change the file")
			}
			p := filepath.Join(dir, name+".safetensors")
			if err := os.WriteFile(p, content, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadCheckpoint(p, e, nil)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %v, want ErrCorrupt naming %s", err, p)
			}
		})
	}
	if _, err := LoadCheckpoint(filepath.Join(dir, "absent.safetensors"), e, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// failingWriter passes n bytes through and then fails.
type failingWriter struct {
	w io.Writer
	n int
}

var errInjected = errors.New("injected write failure")

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k, _ := f.w.Write(p[:f.n])
		f.n = 0
		return k, errInjected
	}
	f.n -= len(p)
	return f.w.Write(p)
}

// TestFailedSaveKeepsOldFile makes a save fail part-way through writing and
// checks that the previous checkpoint is byte-identical and no temporary
// file is left behind.
func TestFailedSaveKeepsOldFile(t *testing.T) {
	e := smallReleased(t, 1, 8)
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	if err := SaveCheckpoint(path, e, nil, Meta{Step: 1}); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tensor.Write(e.Head.Bias.Value, make([]float32, 8)) // change the model
	for _, after := range []int{0, 100, len(old) / 2} {
		testHookWriter = func(w io.Writer) io.Writer { return &failingWriter{w: w, n: after} }
		err = SaveCheckpoint(path, e, nil, Meta{Step: 2})
		testHookWriter = nil
		if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), path) {
			t.Fatalf("failing after %d bytes: error %v, want the injected failure naming %s", after, err, path)
		}
		now, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(now, old) {
			t.Fatalf("failing after %d bytes: old checkpoint changed (%v)", after, err)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Fatalf("failing after %d bytes: directory holds %d files, want only the checkpoint", after, len(entries))
		}
	}
	if err := SaveCheckpoint(filepath.Join(dir, "no", "such", "dir.safetensors"), e, nil, Meta{}); err == nil {
		t.Error("save into a missing directory succeeded")
	}
	// A successful save replaces the file.
	if err := SaveCheckpoint(path, e, nil, Meta{Step: 2}); err != nil {
		t.Fatal(err)
	}
	if meta, err := LoadCheckpoint(path, e, nil); err != nil || meta.Step != 2 {
		t.Fatalf("after a good save: step %d, %v", meta.Step, err)
	}
}

// TestOptimizerStateErrors checks that optimizer state for unknown
// parameters, incomplete state and mis-shaped state are reported under
// their checkpoint names, and that nothing is changed.
func TestOptimizerStateErrors(t *testing.T) {
	b := cpu(t)
	e := smallReleased(t, 1, 8)
	opt, err := NewAdam(e.Params(), DefaultAdamConfig())
	if err != nil {
		t.Fatal(err)
	}
	trainStep(t, e, opt, randInput(b, 2, 2, 1, 32, 32), randInput(b, 3, 2, 8))
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	if err := SaveCheckpoint(path, e, opt, Meta{}); err != nil {
		t.Fatal(err)
	}
	file, meta, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(map[string]HostTensor)) string {
		c := map[string]HostTensor{}
		for k, v := range file {
			c[k] = v
		}
		f(c)
		p := filepath.Join(dir, "mutated.safetensors")
		if err := WriteSafetensors(p, c, meta); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name  string
		f     func(map[string]HostTensor)
		kind  string
		entry string
	}{
		{"unknown param", func(c map[string]HostTensor) {
			c["optimizer.state.nope.exp_avg"] = HostTensor{Shape: []int{1}, Floats: []float32{1}}
		}, "unexpected", "optimizer.state.nope.exp_avg"},
		{"incomplete", func(c map[string]HostTensor) { delete(c, "optimizer.state.block2.conv1.weight.exp_avg_sq") },
			"missing", "optimizer.state.block2.conv1.weight.exp_avg_sq"},
		{"shape", func(c map[string]HostTensor) {
			c["optimizer.state.Linear_down.bias.exp_avg"] = HostTensor{Shape: []int{3}, Floats: []float32{1, 2, 3}}
		}, "mismatched", "optimizer.state.Linear_down.bias.exp_avg: file has F32 [3], model expects float32 [8]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e2 := smallReleased(t, 5, 8)
			before := snapshot(e2)
			opt2, err := NewAdam(e2.Params(), DefaultAdamConfig())
			if err != nil {
				t.Fatal(err)
			}
			_, err = LoadCheckpoint(mutate(c.f), e2, opt2)
			var se *StateDictError
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want *StateDictError", err)
			}
			list := map[string][]string{"missing": se.Missing, "unexpected": se.Unexpected, "mismatched": se.Mismatched}[c.kind]
			if !slices.Equal(list, []string{c.entry}) {
				t.Errorf("%s = %q, want [%q] (error: %v)", c.kind, list, c.entry, err)
			}
			sameSnapshot(t, "after failed load", before, snapshot(e2))
			if len(opt2.State()) != 0 {
				t.Error("failed load left optimizer state")
			}
		})
	}
}

// TestLoadBackbone loads a torchvision-style state dict (with a 1000-class
// fc) into a ResNet-18 encoder and checks the pretrained-path freezing.
func TestLoadBackbone(t *testing.T) {
	b := cpu(t)
	cfg := EncoderConfig{LatentDim: 8, Width: 0.125}
	src, err := NewResNet18Encoder(b, seeded(1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sd := map[string]HostTensor{}
	for _, s := range modelSlots(src) {
		if !strings.HasPrefix(s.Name, "fc.") {
			sd[s.Name] = HostTensor{Shape: s.Shape(), Floats: hostFloats(s)}
			if s.Counter != nil {
				sd[s.Name] = HostTensor{Shape: []int{}, Ints: []int64{*s.Counter}}
			}
		}
	}
	sd["fc.weight"] = HostTensor{Shape: []int{1000, 64}, Floats: make([]float32, 64000)}
	sd["fc.bias"] = HostTensor{Shape: []int{1000}, Floats: make([]float32, 1000)}
	dir := t.TempDir()
	path := filepath.Join(dir, "resnet18.safetensors")
	if err := WriteSafetensors(path, sd, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	dst, err := NewResNet18Encoder(b, seeded(2), cfg)
	if err != nil {
		t.Fatal(err)
	}
	head := dst.Head.Weight.Value.Float32s()
	if err := dst.LoadBackbone(path); err != nil {
		t.Fatal(err)
	}
	if !equalF(paramValue(dst, "layer2.0.downsample.0.weight"), paramValue(src, "layer2.0.downsample.0.weight")) {
		t.Error("trunk weights not loaded")
	}
	if !equalF(head, dst.Head.Weight.Value.Float32s()) {
		t.Error("the new head was overwritten")
	}
	trainable := 0
	for _, p := range dst.Params() {
		if p.Var.RequiresGrad() {
			trainable++
			if !anyPrefix(p.Name, PretrainedTrainable) {
				t.Errorf("%s trainable", p.Name)
			}
		}
	}
	if trainable != 2*(2*6+3)+2 { // layer3 and layer4: 2 blocks of 6 and a downsample of 3; fc 2
		t.Errorf("%d trainable parameters", trainable)
	}
	delete(sd, "layer4.1.bn2.running_var")
	if err := WriteSafetensors(path, sd, nil); err != nil {
		t.Fatal(err)
	}
	if err := dst.LoadBackbone(path); err == nil || !strings.Contains(err.Error(), "layer4.1.bn2.running_var") {
		t.Errorf("incomplete backbone: %v", err)
	}
	rel := smallReleased(t, 1, 8)
	if err := rel.LoadBackbone(path); err == nil {
		t.Error("LoadBackbone accepted the released encoder")
	}
}
