package shaders

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vkgrad/vkgrad/shaders/shadergen"
)

// TestEmbeddedMatchesManifest reflects every embedded module and compares it
// with its manifest entry.
func TestEmbeddedMatchesManifest(t *testing.T) {
	if len(manifest) == 0 {
		t.Fatal("empty manifest")
	}
	for _, m := range manifest {
		t.Run(m.Name, func(t *testing.T) {
			words, meta, err := Get(m.Name)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 4*len(words))
			for i, w := range words {
				binary.LittleEndian.PutUint32(b[4*i:], w)
			}
			r, err := shadergen.Reflect(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Bindings) != len(meta.Bindings) {
				t.Fatalf("bindings: spv has %d, manifest %d", len(r.Bindings), len(meta.Bindings))
			}
			for i, bd := range r.Bindings {
				if bd.Binding != meta.Bindings[i].Binding || bd.Writable != meta.Bindings[i].Writable {
					t.Errorf("binding %d: spv %+v, manifest %+v", i, bd, meta.Bindings[i])
				}
			}
			if r.PushSize != meta.PushSize || r.LocalSize != meta.LocalSize || r.LocalSizeSpecIDs != meta.LocalSizeSpecIDs {
				t.Errorf("spv push %d local %v ids %v; manifest push %d local %v ids %v",
					r.PushSize, r.LocalSize, r.LocalSizeSpecIDs, meta.PushSize, meta.LocalSize, meta.LocalSizeSpecIDs)
			}
			if meta.PushSize > 128 {
				t.Errorf("push constants of %d bytes exceed the 128 guaranteed by Vulkan", meta.PushSize)
			}
			if len(meta.Bindings) > 8 {
				t.Errorf("%d bindings exceed the shared layout of 8", len(meta.Bindings))
			}
		})
	}
	if _, _, err := Get("no-such-module"); err == nil {
		t.Error("Get of an unknown module succeeded")
	}
}

// TestSourceHashes fails when a GLSL source changed after the last
// `go generate ./shaders` (no compiler needed).
func TestSourceHashes(t *testing.T) {
	vs, err := shadergen.Variants("glsl")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != len(manifest) {
		t.Fatalf("glsl defines %d modules, manifest has %d: run go generate ./shaders", len(vs), len(manifest))
	}
	for _, v := range vs {
		m, ok := byName[v.Name]
		if !ok {
			t.Errorf("module %s (%s) missing from the manifest: run go generate ./shaders", v.Name, v.File)
			continue
		}
		h, err := shadergen.SourceHash("glsl", v)
		if err != nil {
			t.Fatal(err)
		}
		if h != m.SourceSHA256 {
			t.Errorf("module %s: sources changed since the SPIR-V was generated: run go generate ./shaders", v.Name)
		}
	}
}

// TestSPIRVUpToDate regenerates every module into a temporary directory and
// compares it byte for byte with the committed SPIR-V and manifest.
func TestSPIRVUpToDate(t *testing.T) {
	for _, tool := range []string{"glslc", "spirv-val"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed, cannot regenerate the SPIR-V to check it is current", tool)
		}
	}
	version, err := shadergen.GlslcVersion()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := shadergen.Generate("glsl", dir, "shaders"); err != nil {
		t.Fatal(err)
	}
	if version != GlslcVersion {
		t.Logf("installed %q differs from %q that produced the committed SPIR-V; comparing reflection only", version, GlslcVersion)
	}
	for _, m := range manifest {
		got, err := os.ReadFile(filepath.Join(dir, "spv", m.Name+".spv"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("spv", m.Name+".spv"))
		if err != nil {
			t.Fatal(err)
		}
		if version == GlslcVersion && !bytes.Equal(got, want) {
			t.Errorf("spv/%s.spv is stale: run go generate ./shaders", m.Name)
		}
		r, err := shadergen.Reflect(got)
		if err != nil {
			t.Fatal(err)
		}
		if r.PushSize != m.PushSize || r.LocalSize != m.LocalSize || len(r.Bindings) != len(m.Bindings) {
			t.Errorf("module %s: regenerated reflection differs from the manifest: run go generate ./shaders", m.Name)
		}
	}
	if version == GlslcVersion {
		got, err := os.ReadFile(filepath.Join(dir, "manifest_gen.go"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("manifest_gen.go")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Error("manifest_gen.go is stale: run go generate ./shaders")
		}
	}
	committed, _ := filepath.Glob(filepath.Join("spv", "*.spv"))
	if len(committed) != len(manifest) {
		t.Errorf("spv/ holds %d files, the manifest %d modules: run go generate ./shaders", len(committed), len(manifest))
	}
}

// TestReflectRejectsGarbage checks the SPIR-V reader's error paths.
func TestReflectRejectsGarbage(t *testing.T) {
	cases := map[string][]byte{
		"short":     {1, 2, 3},
		"bad magic": make([]byte, 40),
	}
	for name, b := range cases {
		if _, err := shadergen.Reflect(b); err == nil {
			t.Errorf("%s: Reflect accepted it", name)
		}
	}
	if !reflect.DeepEqual(Names(), sortedNames()) {
		t.Error("Names is not sorted")
	}
}

func sortedNames() []string {
	n := Names()
	for i := 1; i < len(n); i++ {
		if n[i-1] > n[i] {
			return nil
		}
	}
	return n
}
