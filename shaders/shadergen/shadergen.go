// Package shadergen compiles vkgrad's GLSL compute shaders to SPIR-V and
// writes the manifest the Vulkan backend reads. It is run by
// `go generate ./shaders` (through cmd/shadergen) and by the staleness test.
//
// Each shaders/glsl/*.comp file yields one module named after the file, or
// several when it carries variant lines:
//
//	// @variant reduce_argmax -DARGMAX=1
//
// Every module is compiled with glslc (--target-env=vulkan1.1 -O; any output
// on stderr is an error), checked with spirv-val, and reflected: bindings of
// set 0 (with read-only flags), push-constant size, workgroup size and
// specialization constants go into manifest_gen.go together with the SHA-256
// of every source the module depends on.
package shadergen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// GlslcFlags are the fixed compiler flags (part of every source hash).
var GlslcFlags = []string{"-fshader-stage=compute", "--target-env=vulkan1.1", "-O"}

// Variant is one module to build from a .comp file.
type Variant struct {
	Name    string
	File    string   // base name of the .comp file
	Defines []string // "KEY=VAL" or "KEY"
}

// Module is a compiled variant with its reflection and source hash.
type Module struct {
	Variant
	Reflection
	SHA256 string
	SPIRV  []byte
}

// Variants lists the modules defined by the .comp files in dir.
func Variants(dir string) ([]Variant, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.comp"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Variant
	seen := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		base := filepath.Base(f)
		var vs []Variant
		for _, line := range strings.Split(string(src), "\n") {
			line = strings.TrimSpace(line)
			rest, ok := strings.CutPrefix(line, "// @variant ")
			if !ok {
				continue
			}
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				return nil, fmt.Errorf("%s: empty @variant line", base)
			}
			v := Variant{Name: fields[0], File: base}
			for _, d := range fields[1:] {
				def, ok := strings.CutPrefix(d, "-D")
				if !ok || def == "" {
					return nil, fmt.Errorf("%s: @variant %s: %q is not a -DKEY[=VAL] define", base, v.Name, d)
				}
				v.Defines = append(v.Defines, def)
			}
			vs = append(vs, v)
		}
		if len(vs) == 0 {
			vs = []Variant{{Name: strings.TrimSuffix(base, ".comp"), File: base}}
		}
		for _, v := range vs {
			if prev, dup := seen[v.Name]; dup {
				return nil, fmt.Errorf("module %s defined by both %s and %s", v.Name, prev, v.File)
			}
			seen[v.Name] = v.File
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no .comp files in %s", dir)
	}
	return out, nil
}

// SourceHash hashes everything a variant's SPIR-V depends on: the compiler
// flags, the defines, the .comp file and every .glsl include in dir.
func SourceHash(dir string, v Variant) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "flags %q\ndefines %q\n", GlslcFlags, v.Defines)
	incs, err := filepath.Glob(filepath.Join(dir, "*.glsl"))
	if err != nil {
		return "", err
	}
	sort.Strings(incs)
	for _, f := range append([]string{filepath.Join(dir, v.File)}, incs...) {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "file %s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// GlslcVersion returns the first line of `glslc --version`.
func GlslcVersion() (string, error) {
	out, err := exec.Command("glslc", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("glslc --version: %w", err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}

func run(name string, args ...string) error {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	msg := strings.TrimSpace(stderr.String() + stdout.String())
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, msg)
	}
	if stderr.Len() > 0 {
		return fmt.Errorf("%s %s: output on stderr (treated as an error):\n%s", name, strings.Join(args, " "), msg)
	}
	return nil
}

// Compile builds one variant into spvPath and reflects it.
func Compile(dir string, v Variant, spvPath string) (Module, error) {
	m := Module{Variant: v}
	args := append([]string{}, GlslcFlags...)
	args = append(args, "-I", dir)
	for _, d := range v.Defines {
		args = append(args, "-D"+d)
	}
	args = append(args, "-o", spvPath, filepath.Join(dir, v.File))
	if err := run("glslc", args...); err != nil {
		return m, err
	}
	if err := run("spirv-val", "--target-env", "vulkan1.1", spvPath); err != nil {
		return m, err
	}
	code, err := os.ReadFile(spvPath)
	if err != nil {
		return m, err
	}
	m.SPIRV = code
	if m.Reflection, err = Reflect(code); err != nil {
		return m, fmt.Errorf("%s: %w", v.Name, err)
	}
	if m.SHA256, err = SourceHash(dir, v); err != nil {
		return m, err
	}
	return m, nil
}

// Generate compiles every variant of glslDir into outDir/spv/<name>.spv and
// writes outDir/manifest_gen.go (package pkg). Stale .spv files in
// outDir/spv are removed.
func Generate(glslDir, outDir, pkg string) ([]Module, error) {
	vs, err := Variants(glslDir)
	if err != nil {
		return nil, err
	}
	version, err := GlslcVersion()
	if err != nil {
		return nil, err
	}
	spvDir := filepath.Join(outDir, "spv")
	if err := os.MkdirAll(spvDir, 0o755); err != nil {
		return nil, err
	}
	mods := make([]Module, len(vs))
	errs := make([]error, len(vs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			mods[i], errs[i] = Compile(glslDir, v, filepath.Join(spvDir, v.Name+".spv"))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, v := range vs {
		want[v.Name+".spv"] = true
	}
	old, _ := filepath.Glob(filepath.Join(spvDir, "*.spv"))
	for _, f := range old {
		if !want[filepath.Base(f)] {
			if err := os.Remove(f); err != nil {
				return nil, err
			}
		}
	}
	src, err := Manifest(pkg, version, mods)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(outDir, "manifest_gen.go"), src, 0o644); err != nil {
		return nil, err
	}
	return mods, nil
}

// Manifest renders the generated Go file.
func Manifest(pkg, glslcVersion string, mods []Module) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by shadergen; DO NOT EDIT.\n\npackage %s\n\n", pkg)
	fmt.Fprintf(&b, "// GlslcVersion is the compiler that produced the committed SPIR-V.\nconst GlslcVersion = %q\n\n", glslcVersion)
	fmt.Fprintf(&b, "var manifest = []Meta{\n")
	for _, m := range mods {
		fmt.Fprintf(&b, "\t{\n\t\tName: %q,\n\t\tFile: %q,\n", m.Name, m.File)
		if len(m.Defines) > 0 {
			fmt.Fprintf(&b, "\t\tDefines: %#v,\n", m.Defines)
		}
		fmt.Fprintf(&b, "\t\tBindings: []Binding{")
		for _, bd := range m.Bindings {
			fmt.Fprintf(&b, "{Binding: %d, Writable: %v}, ", bd.Binding, bd.Writable)
		}
		fmt.Fprintf(&b, "},\n\t\tPushSize: %d,\n\t\tLocalSize: [3]uint32{%d, %d, %d},\n", m.PushSize, m.LocalSize[0], m.LocalSize[1], m.LocalSize[2])
		fmt.Fprintf(&b, "\t\tLocalSizeSpecIDs: [3]int{%d, %d, %d},\n", m.LocalSizeSpecIDs[0], m.LocalSizeSpecIDs[1], m.LocalSizeSpecIDs[2])
		if len(m.SpecConstants) > 0 {
			fmt.Fprintf(&b, "\t\tSpecConstants: []SpecConstant{")
			for _, s := range m.SpecConstants {
				fmt.Fprintf(&b, "{ID: %d, Default: %d}, ", s.ID, s.Default)
			}
			fmt.Fprintf(&b, "},\n")
		}
		fmt.Fprintf(&b, "\t\tSourceSHA256: %q,\n\t},\n", m.SHA256)
	}
	fmt.Fprintf(&b, "}\n")
	return format.Source(b.Bytes())
}
