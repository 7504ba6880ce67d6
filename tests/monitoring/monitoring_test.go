// Package monitoring_test checks what the on-call relies on: the rules
// and the dashboard that the prod overlay deploys (components/
// prometheus-operator). promtool checks the rules and runs a case that
// fires and one that stays quiet for every alert (testdata/); every alert
// links its own runbook section; and a real Prometheus, scraping the real
// processes on the ports and paths the monitors name, finds data for every
// metric a rule or a dashboard panel uses, and parses every panel query.
package monitoring_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kubebank/kubebank/tests/internal/bankbin"
	"github.com/kubebank/kubebank/tests/internal/manifests"
)

var bankBinary string

func TestMain(m *testing.M) { os.Exit(bankbin.Run(m, &bankBinary)) }

// env is the overlay whose monitoring is tested: the strictest.
const env = "overlays/prod"

func render(t *testing.T) []manifests.Object {
	t.Helper()
	objs, _, err := manifests.Render(env)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// rule is one recording rule or alert of the PrometheusRule.
type rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

type ruleGroup struct {
	Name  string `yaml:"name"`
	Rules []rule `yaml:"rules"`
}

// ruleGroups are the groups of the overlay's PrometheusRule kubebank.
func ruleGroups(t *testing.T, objs []manifests.Object) []ruleGroup {
	t.Helper()
	o := manifests.Find(objs, "PrometheusRule", "kubebank")
	if o == nil {
		t.Fatalf("%s deploys no PrometheusRule kubebank", env)
	}
	var pr struct {
		Spec struct {
			Groups []ruleGroup `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(o.YAML, &pr); err != nil {
		t.Fatal(err)
	}
	if len(pr.Spec.Groups) == 0 {
		t.Fatal("the PrometheusRule has no groups")
	}
	return pr.Spec.Groups
}

func alerts(groups []ruleGroup) []rule {
	var out []rule
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

// writeRules writes groups as a Prometheus rule file in dir.
func writeRules(t *testing.T, dir, name string, groups []ruleGroup) string {
	t.Helper()
	b, err := yaml.Marshal(map[string]any{"groups": groups})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// dashboard is the Grafana dashboard of the overlay's ConfigMap.
type dashboard struct {
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func dashboardOf(t *testing.T, objs []manifests.Object) dashboard {
	t.Helper()
	o := manifests.Find(objs, "ConfigMap", "kubebank-dashboard")
	if o == nil {
		t.Fatalf("%s deploys no ConfigMap kubebank-dashboard", env)
	}
	if l := manifests.Get(o.Raw, "metadata", "labels", "grafana_dashboard"); l != "1" {
		t.Errorf("the dashboard's ConfigMap has grafana_dashboard=%v, want \"1\" (the sidecar's label)", l)
	}
	data, _ := manifests.Get(o.Raw, "data", "kubebank.json").(string)
	var d dashboard
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	return d
}

// tool returns the path of a program the tests need; missing, the test
// fails (`make test` installs it from Debian's packages).
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required: install Debian's %s (`make test` does so when run as root)", name, pkg)
	}
	return p
}
