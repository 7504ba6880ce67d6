// Package toolbin builds the programs the end-to-end test runs (the
// Kubernetes control plane, etcd, KWOK, Flux's controllers) from the Go
// modules under tests/e2e/tools, and caches the binaries by version: a
// folder is keyed by the module's go.mod and go.sum, the flags and the Go
// version, so only a version change rebuilds.
package toolbin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// Tool is one module under tests/e2e/tools and the commands built from it.
type Tool struct {
	Module   string    // folder under tests/e2e/tools
	Commands []Command // built in this order
	LDFlags  string
}

// Command is a main package and the file name to build it as.
type Command struct{ Name, Package string }

// Binaries maps a command's name to its built file.
type Binaries map[string]string

// Build returns the cached binaries of tool, building the missing ones
// (one at a time, at the lowest CPU priority: the machine is shared).
// toolsDir is tests/e2e/tools, cacheRoot the ignored folder to cache in;
// log gets a line per build with its duration.
func Build(toolsDir, cacheRoot string, tool Tool, log io.Writer) (Binaries, error) {
	modDir := filepath.Join(toolsDir, tool.Module)
	key, err := cacheKey(modDir, tool)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cacheRoot, tool.Module+"-"+key)
	bins := Binaries{}
	for _, c := range tool.Commands {
		bins[c.Name] = filepath.Join(dir, c.Name)
	}
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return bins, nil
	}
	if err := os.MkdirAll(cacheRoot, 0o755); err != nil {
		return nil, err
	}
	// Built beside the final folder and renamed, so a half-built folder is
	// never taken for a cached one.
	tmp, err := os.MkdirTemp(cacheRoot, "tmp-"+tool.Module+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for _, c := range tool.Commands {
		start := time.Now()
		out := filepath.Join(tmp, c.Name)
		args := []string{"-n", "19", "go", "build", "-trimpath", "-o", out}
		if tool.LDFlags != "" {
			args = append(args, "-ldflags", tool.LDFlags)
		}
		cmd := exec.Command("nice", append(args, c.Package)...)
		cmd.Dir = modDir
		cmd.Env = append(os.Environ(), "GOWORK=off")
		cmd.Stdout, cmd.Stderr = log, log
		fmt.Fprintf(log, "toolbin: building %s (%s)\n", c.Package, tool.Module)
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("building %s in %s: %w", c.Package, modDir, err)
		}
		fmt.Fprintf(log, "toolbin: built %s in %s\n", c.Name, time.Since(start).Round(time.Second))
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), nil, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "complete")); serr == nil {
			return bins, nil // another process finished first
		}
		return nil, err
	}
	return bins, nil
}

// ModuleDir is the module cache folder of module as tool's go.mod pins it
// (for files a binary does not carry, such as Flux's CRDs), downloaded
// first if the cache lacks it (go.sum checks it).
func ModuleDir(toolsDir string, tool Tool, module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = filepath.Join(toolsDir, tool.Module)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	return downloadDir(cmd, module)
}

func downloadDir(cmd *exec.Cmd, module string) (string, error) {
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s in %s: %s", module, cmd.Dir, info.Error)
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", fmt.Errorf("go mod download %s in %s: %v: %s", module, cmd.Dir, err, ee.Stderr)
		}
		return "", err
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s in %s: no folder in %s", module, cmd.Dir, out)
	}
	return info.Dir, nil
}

func cacheKey(modDir string, tool Tool) (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(modDir, f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	fmt.Fprintln(h, runtime.Version(), runtime.GOOS, runtime.GOARCH, tool.LDFlags, tool.Commands)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// ModuleAt is the module cache folder of module@version, downloaded first
// if needed (checked against the checksum database like any module), for
// a module the test only reads files from.
func ModuleAt(module, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	// Outside any module: nothing's go.mod is touched.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	return downloadDir(cmd, module)
}
