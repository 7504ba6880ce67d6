// Package layers checks the import graph of src/: the domain at the
// bottom, then the Redis plumbing, the stores that keep the money rules,
// the background jobs, the transports, and main on top. A package may
// import only packages of a lower layer, so nothing below imports upward,
// and the web app (a transport that talks to the API over HTTP) can never
// reach the ledger's code.
package layers

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/kubebank/kubebank/src/"

// layer of every package under src/; a new package must be placed here.
var layer = map[string]int{
	// sentinel imports nothing of the bank's; redispool dials through it.
	"bank": 0, "sentinel": 0,

	"keyspace": 1, "redishash": 1, "redisproc": 1, "backup": 1, "redispool": 1, "buildinfo": 1, "requestid": 1,
	"luascript": 2, "redistest": 2, "apiclient": 2, "cli": 2, "service": 2,
	"audit": 3,

	"ledger": 4, "auth": 4, "webhooks": 4,
	"standing": 5, "statements": 5,

	"jobs":     6,
	"schedule": 7, "delivery": 7, "worker": 7, "demo": 7,

	"api": 8, "web": 8, "loadgen": 8,
	"web/webtest": 9,

	"cmd/bank": 10, "cmd/imagebuild": 10,
}

// The web app reaches money only through the API.
var forbidden = map[string][]string{
	"web": {"ledger", "auth", "standing", "statements", "webhooks", "luascript", "audit", "jobs", "api"},
	"api": {"jobs", "schedule", "delivery", "worker", "web"},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func packages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "../../src/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < len(layer)/2 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

func TestImportsOnlyGoDown(t *testing.T) {
	for _, p := range packages(t) {
		name := strings.TrimPrefix(p.ImportPath, module)
		from, ok := layer[name]
		if !ok {
			t.Errorf("package %s has no layer: add it to layer in this test", name)
			continue
		}
		for _, imp := range p.Imports {
			dep, internal := strings.CutPrefix(imp, module)
			if !internal {
				continue
			}
			to, ok := layer[dep]
			if !ok {
				continue // reported as its own package
			}
			if to >= from {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must go down", name, from, dep, to)
			}
			for _, f := range forbidden[name] {
				if dep == f {
					t.Errorf("%s must not import %s", name, dep)
				}
			}
		}
	}
}
