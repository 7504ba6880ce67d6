package manifests_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/yannh/kubeconform/pkg/validator"

	"github.com/kubebank/kubebank/tests/internal/kubeschema"
	"github.com/kubebank/kubebank/tests/internal/manifests"
)

var (
	schemaOnce sync.Once
	schemaDir  string
	schemaErr  error
)

// strictValidator validates against the schemas generated from the module
// zips (cached under tests/manifests/.schemas, which git ignores). A
// missing schema is an error, never a skip.
func strictValidator(t *testing.T) validator.Validator {
	t.Helper()
	schemaOnce.Do(func() {
		schemaDir, schemaErr = kubeschema.Cached(filepath.Join(manifests.Root(), "tests", "manifests", ".schemas"))
	})
	if schemaErr != nil {
		t.Fatalf("generating schemas: %v", schemaErr)
	}
	v, err := validator.New(kubeschema.Locations(schemaDir), validator.Opts{
		Strict:               true,
		IgnoreMissingSchemas: false,
		KubernetesVersion:    "master",
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// validate returns one line per object that is not Valid.
func validate(v validator.Validator, name string, yamlStream []byte) (problems []string, valid int) {
	for _, r := range v.Validate(name, io.NopCloser(bytes.NewReader(yamlStream))) {
		switch r.Status {
		case validator.Valid:
			valid++
		case validator.Empty:
		default:
			sig, _ := r.Resource.Signature()
			id := name
			if sig != nil {
				id = sig.Kind + "/" + sig.Name
			}
			msg := ""
			if r.Err != nil {
				msg = r.Err.Error()
			}
			for _, ve := range r.ValidationErrors {
				msg += "\n    " + ve.Path + ": " + ve.Msg
			}
			problems = append(problems, id+": "+msg)
		}
	}
	return problems, valid
}

func TestKubeconformOverlays(t *testing.T) {
	v := strictValidator(t)
	trees := []string{".", "base", "overlays/dev", "overlays/staging", "overlays/prod", componentsCheck}
	for _, tree := range trees {
		objs, stream, err := manifests.Render(tree)
		if err != nil {
			t.Fatal(err)
		}
		problems, valid := validate(v, tree, stream)
		for _, p := range problems {
			t.Errorf("%s: %s", tree, p)
		}
		if valid != len(objs) {
			t.Errorf("%s: %d of %d objects valid", tree, valid, len(objs))
		}
		t.Logf("%s: %d objects valid", tree, valid)
	}
}

// The Flux objects are plain YAML (Flux generates their kustomization).
func TestKubeconformClusters(t *testing.T) {
	v := strictValidator(t)
	files, err := filepath.Glob(filepath.Join(manifests.Root(), "clusters", "*", "*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("cluster files: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		problems, valid := validate(v, f, data)
		for _, p := range problems {
			t.Error(p)
		}
		if valid < 2 {
			t.Errorf("%s: %d valid objects, want a GitRepository and a Kustomization", f, valid)
		}
	}
}

// The validator has teeth: each file in testdata/broken is one mistake
// that must be rejected, with the field it names in the message.
func TestKubeconformRejectsBrokenManifests(t *testing.T) {
	v := strictValidator(t)
	cases := map[string]string{
		"unknown-field.yaml":        "readinesProbe",
		"wrong-type.yaml":           "replicas",
		"flux-bad-interval.yaml":    "interval",
		"flux-bad-enum.yaml":        "kind",
		"unknown-kind.yaml":         "could not find schema",
		"metadata-typo.yaml":        "lables",
		"int-or-string-object.yaml": "targetPort",
		"wrong-api-version.yaml":    "",
		"crd-unknown-field.yaml":    "prunne",
		"missing-required.yaml":     "containers",
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "broken", "*.yaml"))
	if len(files) != len(cases) {
		t.Errorf("%d broken manifests on disk, %d cases", len(files), len(cases))
	}
	for file, needle := range cases {
		data, err := os.ReadFile(filepath.Join("testdata", "broken", file))
		if err != nil {
			t.Fatal(err)
		}
		problems, valid := validate(v, file, data)
		if valid != 0 || len(problems) != 1 {
			t.Errorf("%s: accepted (%d valid, problems %q)", file, valid, problems)
			continue
		}
		if !strings.Contains(problems[0], needle) {
			t.Errorf("%s: rejected, but not for %q: %s", file, needle, problems[0])
		}
	}
}

// The same objects without the mistake pass, so the rejections above are
// about the mistake and not about something else in the file.
func TestKubeconformAcceptsQuantitiesAndIntOrString(t *testing.T) {
	v := strictValidator(t)
	ok := []byte(`apiVersion: v1
kind: Service
metadata:
  name: s
spec:
  ports:
    - port: 80
      targetPort: 8080
    - port: 81
      targetPort: http
---
apiVersion: v1
kind: LimitRange
metadata:
  name: l
spec:
  limits:
    - type: Container
      max:
        cpu: 2
        memory: 1Gi
      min:
        cpu: 0.5
`)
	problems, valid := validate(v, "ok", ok)
	if len(problems) != 0 || valid != 2 {
		t.Errorf("valid objects rejected: %q", problems)
	}
}
