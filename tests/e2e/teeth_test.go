package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/tests/e2e/internal/kubectl"
)

// rejectsBrokenManifests: the API server (with Flux's CRDs installed)
// refuses every mistake in tests/manifests/testdata/broken, the same files
// the offline validator must refuse, and its message names the mistake.
func rejectsBrokenManifests(t *testing.T, k kubectl.Kubectl, root string) {
	t.Helper()
	cases := map[string]string{
		"unknown-field.yaml":        "readinesProbe",
		"wrong-type.yaml":           "replicas",
		"flux-bad-interval.yaml":    "interval",
		"flux-bad-enum.yaml":        "HelmRepository",
		"unknown-kind.yaml":         `no matches for kind "Vault"`,
		"metadata-typo.yaml":        "lables",
		"int-or-string-object.yaml": "targetPort",
		"wrong-api-version.yaml":    "apps/v1beta1",
		"crd-unknown-field.yaml":    "prunne",
		"missing-required.yaml":     "containers",
	}
	dir := filepath.Join(root, "tests", "manifests", "testdata", "broken")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != len(cases) {
		t.Errorf("%d broken manifests in %s, %d cases here", len(files), dir, len(cases))
	}
	for file, needle := range cases {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.Run(strings.NewReader(string(data)), "create", "--dry-run=server", "--validate=strict", "-f", "-")
		if err == nil {
			t.Errorf("%s: accepted by the API server", file)
		} else if !strings.Contains(err.Error(), needle) {
			t.Errorf("%s: refused, but the message does not name %q: %v", file, needle, err)
		}
	}
}
