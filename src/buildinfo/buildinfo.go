// Package buildinfo says which build of bank is running: its version and
// VCS revision (set at link time by `make image` and the Dockerfile, or
// read from the Go toolchain's build stamp) and the Go version. `bank
// version`, the first log line and the bank_build_info metric all show it.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Set with -ldflags "-X github.com/kubebank/kubebank/src/buildinfo.Version=0.1.0
// -X github.com/kubebank/kubebank/src/buildinfo.Commit=<sha>".
var (
	Version = "dev"
	Commit  = ""
)

// Revision is the commit the binary was built from: the linker's value,
// else the toolchain's VCS stamp (with "-dirty" for uncommitted changes),
// else "unknown".
func Revision() string {
	if Commit != "" {
		return Commit
	}
	return vcsRevision()
}

// vcsRevision reads the toolchain's stamp once: it never changes.
var vcsRevision = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
})

// GoVersion is the Go release the binary was built with.
func GoVersion() string { return runtime.Version() }

// String is the one-line form `bank version` prints.
func String() string {
	return "bank " + Version + " (commit " + Revision() + ", " + GoVersion() + ")"
}

// Attrs are the build's fields for a structured log line.
func Attrs() []any {
	return []any{"version", Version, "revision", Revision(), "goversion", GoVersion()}
}

// Gatherer serves bank_build_info{version,revision,goversion} 1, which
// every process's /metrics includes, so a dashboard can tell which build
// each pod runs.
func Gatherer() prometheus.Gatherer { return registry }

var registry = func() *prometheus.Registry {
	r := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "bank_build_info", Help: "The running build: always 1, with its version, VCS revision and Go version as labels.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(Version, Revision(), GoVersion()).Set(1)
	r.MustRegister(g)
	return r
}()
