// Package openapi_test runs a third-party OpenAPI linter, Redocly's CLI
// (its recommended rules), over the API's document: no errors and no
// warnings but the ones src/api/.redocly.lint-ignore.yaml lists with a
// reason. `make test` installs the pinned CLI into .cache/redocly/ and
// passes its path in BANK_REDOCLY.
package openapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kubebank/kubebank/tests/internal/manifests"
)

func TestRedoclyLint(t *testing.T) {
	cli := os.Getenv("BANK_REDOCLY")
	if cli == "" {
		t.Fatal("BANK_REDOCLY is not set: run `make test` (it installs Redocly's CLI into .cache/redocly/), or set it to a redocly binary")
	}
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("BANK_REDOCLY=%s: %v (`make deps-redocly` installs it)", cli, err)
	}
	// From src/api, where the document and its ignore file are.
	cmd := exec.Command(cli, "lint", "openapi.yaml", "--format=json")
	cmd.Dir = filepath.Join(manifests.Root(), "src", "api")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var report struct {
		Totals struct {
			Errors   int `json:"errors"`
			Warnings int `json:"warnings"`
			Ignored  int `json:"ignored"`
		} `json:"totals"`
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
			Location []struct {
				Pointer string `json:"pointer"`
			} `json:"location"`
		} `json:"problems"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("redocly lint: %v (%v)\n%s\n%s", err, runErr, stdout.String(), stderr.String())
	}
	for _, p := range report.Problems {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		t.Errorf("%s %s at %s: %s", p.Severity, p.RuleID, where, p.Message)
	}
	if report.Totals.Errors != 0 || report.Totals.Warnings != 0 || runErr != nil {
		t.Errorf("redocly lint: %d errors, %d warnings (%v)", report.Totals.Errors, report.Totals.Warnings, runErr)
	}
}
