package monitoring_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kubebank/kubebank/tests/internal/manifests"
)

// unitTests are the promtool test files; each names rules.yaml.
var unitTests = []string{"alerts_test.yaml", "alerts_days_test.yaml"}

// promtool check rules accepts the rules as deployed (expressions,
// durations, annotation templates).
func TestRulesCheck(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	path := writeRules(t, t.TempDir(), "rules.yaml", ruleGroups(t, render(t)))
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// promtool test rules runs testdata's cases against the deployed rules.
// The copy under test has no annotations: promtool compares them whole,
// and their text is checked by TestEveryAlertIsDocumented and
// TestRulesCheck; the cases say what fires, with which labels, when.
func TestRulesUnit(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	groups := ruleGroups(t, render(t))
	for gi := range groups {
		for ri := range groups[gi].Rules {
			groups[gi].Rules[ri].Annotations = nil
		}
	}
	dir := t.TempDir()
	writeRules(t, dir, "rules.yaml", groups)
	args := []string{"test", "rules"}
	for _, f := range unitTests {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, f)
	}
	cmd := exec.Command(promtool, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

type unitFile struct {
	Tests []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// Every alert has a case where it fires and one where it stays quiet, and
// every case names an alert that exists.
func TestEveryAlertHasCases(t *testing.T) {
	fires, quiet := map[string][]string{}, map[string][]string{}
	for _, f := range unitTests {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		var u unitFile
		if err := yaml.Unmarshal(b, &u); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range u.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = append(fires[a.Alertname], tc.Name)
				} else {
					quiet[a.Alertname] = append(quiet[a.Alertname], tc.Name)
				}
			}
		}
	}
	names := map[string]bool{}
	for _, a := range alerts(ruleGroups(t, render(t))) {
		names[a.Alert] = true
		if len(fires[a.Alert]) == 0 {
			t.Errorf("%s: no promtool case fires it", a.Alert)
		}
		if len(quiet[a.Alert]) == 0 {
			t.Errorf("%s: no promtool case where it stays quiet", a.Alert)
		}
	}
	for n := range fires {
		if !names[n] {
			t.Errorf("a case expects %s, which is no alert", n)
		}
	}
	for n := range quiet {
		if !names[n] {
			t.Errorf("a case expects %s quiet, which is no alert", n)
		}
	}
}

const runbookURL = "https://github.com/kubebank/kubebank/blob/main/docs/runbook.md#"

// Every alert says how bad it is, what happened, and where its own
// runbook section is; that section says what it means, how to confirm it
// and how to fix it.
func TestEveryAlertIsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(manifests.Root(), "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := runbookSections(string(b))
	seen := map[string]string{}
	for _, a := range alerts(ruleGroups(t, render(t))) {
		if s := a.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", a.Alert, s)
		}
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(a.Annotations[k]) == "" {
				t.Errorf("%s: no %s", a.Alert, k)
			}
		}
		u := a.Annotations["runbook_url"]
		anchor, ok := strings.CutPrefix(u, runbookURL)
		if !ok {
			t.Errorf("%s: runbook_url %q is not under %s", a.Alert, u, runbookURL)
			continue
		}
		if other, dup := seen[anchor]; dup {
			t.Errorf("%s and %s share the runbook section #%s", a.Alert, other, anchor)
		}
		seen[anchor] = a.Alert
		body, ok := sections[anchor]
		if !ok {
			t.Errorf("%s: docs/runbook.md has no section #%s (a heading \"### %s\")", a.Alert, anchor, a.Alert)
			continue
		}
		for _, part := range []string{"What it means", "How to confirm", "How to fix"} {
			if !strings.Contains(body, "**"+part+"**") {
				t.Errorf("docs/runbook.md#%s has no **%s**", anchor, part)
			}
		}
	}
	if len(seen) < 20 {
		t.Errorf("only %d alerts", len(seen))
	}
	// The sections point at each other: every such link lands.
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(b), -1) {
		if _, ok := sections[m[1]]; !ok {
			t.Errorf("docs/runbook.md links to #%s, which is no section", m[1])
		}
	}
}

var heading = regexp.MustCompile(`(?m)^#{2,3} (.+)$`)

// runbookSections maps each heading's GitHub anchor to its text.
func runbookSections(md string) map[string]string {
	out := map[string]string{}
	locs := heading.FindAllStringSubmatchIndex(md, -1)
	for i, l := range locs {
		end := len(md)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		out[anchorOf(md[l[2]:l[3]])] = md[l[1]:end]
	}
	return out
}

// anchorOf is GitHub's heading anchor: lower case, punctuation dropped,
// spaces as dashes.
func anchorOf(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ' || r == '-':
			b.WriteRune('-')
		case r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// The alerts' names are unique and CamelCase with the Bank prefix, so a
// routing tree can match them.
func TestAlertNames(t *testing.T) {
	var names []string
	for _, a := range alerts(ruleGroups(t, render(t))) {
		if !regexp.MustCompile(`^Bank[A-Z][A-Za-z0-9]+$`).MatchString(a.Alert) {
			t.Errorf("alert %q: want Bank followed by CamelCase", a.Alert)
		}
		if slices.Contains(names, a.Alert) {
			t.Errorf("alert %s defined twice", a.Alert)
		}
		names = append(names, a.Alert)
	}
}
