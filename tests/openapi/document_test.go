package openapi_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kubebank/kubebank/tests/internal/manifests"
)

// What the linter does not ask but the bank promises: every operation is
// named, takes X-Request-ID, and every /v1 route that reaches Redis
// documents its 503 (code unavailable, with Retry-After).
func TestEveryOperation(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(manifests.Root(), "src", "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type operation struct {
		OperationID string `yaml:"operationId"`
		Parameters  []struct {
			Ref string `yaml:"$ref"`
		} `yaml:"parameters"`
		Responses map[string]struct {
			Ref string `yaml:"$ref"`
		} `yaml:"responses"`
	}
	var doc struct {
		Paths      map[string]map[string]yaml.Node `yaml:"paths"`
		Components struct {
			Responses map[string]struct {
				Headers map[string]any `yaml:"headers"`
			} `yaml:"responses"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range doc.Paths {
		for method, node := range item {
			if method == "parameters" { // the path's own, not an operation
				continue
			}
			var op operation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			n++
			if op.OperationID == "" {
				t.Errorf("%s %s: no operationId", method, path)
			}
			hasID := false
			for _, p := range op.Parameters {
				hasID = hasID || p.Ref == "#/components/parameters/RequestID"
			}
			if !hasID {
				t.Errorf("%s %s: no X-Request-ID parameter", method, path)
			}
			if strings.HasPrefix(path, "/v1/") && path != "/v1/openapi.yaml" {
				if op.Responses["503"].Ref != "#/components/responses/Unavailable" {
					t.Errorf("%s %s: 503 is not the Unavailable response", method, path)
				}
			}
		}
	}
	if n < 40 {
		t.Errorf("only %d operations", n)
	}
	u := doc.Components.Responses["Unavailable"]
	if u.Headers["Retry-After"] == nil || u.Headers["X-Request-ID"] == nil {
		t.Errorf("the Unavailable response lacks Retry-After or X-Request-ID: %v", u.Headers)
	}
}
