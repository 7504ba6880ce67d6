package kubeschema

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Source is a Go module whose zip holds API definitions: the module proxy
// serves it checksummed, so the schemas are reproducible offline once the
// module cache has it, and nothing is fetched from anywhere else.
type Source struct {
	Module, Version string
	Files           []string // paths (or folders, ending in /) inside the module
	Swagger         bool     // the Kubernetes OpenAPI v2 document, not CRDs
}

// Sources are the definitions the manifests are checked against.
var Sources = []Source{
	{Module: "k8s.io/kubernetes", Version: "v1.34.3", Files: []string{"api/openapi-spec/swagger.json"}, Swagger: true},
	{Module: "github.com/fluxcd/source-controller", Version: "v1.9.6", Files: []string{"config/crd/bases/"}},
	{Module: "github.com/fluxcd/kustomize-controller", Version: "v1.9.6", Files: []string{"config/crd/bases/"}},
	{Module: "github.com/prometheus-operator/prometheus-operator", Version: "v0.85.0", Files: []string{"example/prometheus-operator-crd/"}},
}

// generatorVersion changes whenever the conversion does, so a cached
// folder from an older converter is never reused.
const generatorVersion = "3"

// Locations are kubeconform schema-location templates for a folder made by
// Generate: CRDs by group first (so Flux's and Kustomize's Kustomization
// cannot collide), then built-in kinds in the kubernetes-json-schema
// naming (kind-group-version.json).
func Locations(dir string) []string {
	return []string{
		filepath.Join(dir, "crds", "{{ .Group }}", "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"),
		filepath.Join(dir, "kubernetes", "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
	}
}

// ModuleDir downloads module@version into the module cache through the go
// command (and so through whatever GOPROXY the machine has) and returns
// its extracted folder.
func ModuleDir(module, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	// Outside any module: the download must not touch this repo's go.mod.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", module, version, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", module, version, err, stderr.String())
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no Dir in %s", module, version, out)
	}
	return info.Dir, nil
}

// Cached returns a folder under root holding the schemas for Sources,
// generating it first if no earlier run did. The folder name is keyed by
// the sources and the converter, so a version bump regenerates.
func Cached(root string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, generatorVersion)
	for _, s := range Sources {
		fmt.Fprintln(h, s.Module, s.Version, s.Files)
	}
	dir := filepath.Join(root, hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	// Generate beside the final place and rename, so a concurrent test
	// process never sees half a folder.
	tmp, err := os.MkdirTemp(root, "tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := Generate(tmp); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "complete")); serr == nil {
			return dir, nil // another process finished first
		}
		return "", err
	}
	return dir, nil
}

// Generate writes the schemas for every source into dir.
func Generate(dir string) error {
	var defs map[string]any
	var crdFiles []string
	for _, s := range Sources {
		mdir, err := ModuleDir(s.Module, s.Version)
		if err != nil {
			return err
		}
		for _, f := range s.Files {
			p := filepath.Join(mdir, filepath.FromSlash(f))
			if s.Swagger {
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				if defs, err = FromSwagger(data, filepath.Join(dir, "kubernetes")); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				continue
			}
			matches, err := filepath.Glob(filepath.Join(p, "*.yaml"))
			if err != nil {
				return err
			}
			if len(matches) == 0 {
				return fmt.Errorf("no CRDs in %s", p)
			}
			crdFiles = append(crdFiles, matches...)
		}
	}
	if defs == nil {
		return errors.New("no Kubernetes OpenAPI document among the sources")
	}
	sort.Strings(crdFiles)
	for _, f := range crdFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := FromCRDs(data, defs, filepath.Join(dir, "crds")); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// FromSwagger writes one schema per kind of the Kubernetes OpenAPI v2
// document into dir and returns the document's definitions (CRDs borrow
// ObjectMeta from them).
func FromSwagger(data []byte, dir string) (map[string]any, error) {
	var doc struct {
		Definitions map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Definitions) == 0 {
		return nil, errors.New("no definitions")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(doc.Definitions))
	for n := range doc.Definitions {
		names = append(names, n)
	}
	sort.Strings(names)
	written := 0
	for _, name := range names {
		def, _ := doc.Definitions[name].(map[string]any)
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		// Types listed under several group-versions (DeleteOptions,
		// WatchEvent, ...) are API plumbing, not objects one applies.
		if len(gvks) != 1 {
			continue
		}
		gvk, _ := gvks[0].(map[string]any)
		group, _ := gvk["group"].(string)
		version, _ := gvk["version"].(string)
		kind, _ := gvk["kind"].(string)
		if kind == "" || version == "" || strings.HasSuffix(kind, "List") {
			continue
		}
		c := &converter{defs: doc.Definitions, stack: map[string]bool{}}
		s, err := c.convert(map[string]any{"$ref": "#/definitions/" + name})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		pinTypeMeta(s, group, version, kind)
		// kubeconform's KindSuffix: -<first label of the group>-<version>,
		// or -<version> for the core group.
		suffix := "-" + version
		if group != "" {
			suffix = "-" + strings.ToLower(strings.Split(group, ".")[0]) + suffix
		}
		if err := writeJSON(filepath.Join(dir, strings.ToLower(kind)+suffix+".json"), s); err != nil {
			return nil, err
		}
		written++
	}
	if written == 0 {
		return nil, errors.New("no kinds found")
	}
	return doc.Definitions, nil
}

// FromCRDs writes one schema per kind and served version of every
// CustomResourceDefinition in data (multi-document YAML) into
// dir/<group>/<kind>_<version>.json.
func FromCRDs(data []byte, defs map[string]any, dir string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	written := 0
	for {
		var crd struct {
			Kind string `yaml:"kind"`
			Spec struct {
				Group string `yaml:"group"`
				Names struct {
					Kind string `yaml:"kind"`
				} `yaml:"names"`
				Versions []struct {
					Name   string `yaml:"name"`
					Served bool   `yaml:"served"`
					Schema struct {
						OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
					} `yaml:"schema"`
				} `yaml:"versions"`
			} `yaml:"spec"`
		}
		err := dec.Decode(&crd)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			root := v.Schema.OpenAPIV3Schema
			// CRDs declare metadata as a bare object; the API server checks
			// it as ObjectMeta, so do the same.
			if props, ok := root["properties"].(map[string]any); ok && defs != nil {
				props["metadata"] = map[string]any{"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
			}
			c := &converter{defs: defs, stack: map[string]bool{}}
			s, err := c.convert(root)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", crd.Spec.Names.Kind, v.Name, err)
			}
			pinTypeMeta(s, crd.Spec.Group, v.Name, crd.Spec.Names.Kind)
			p := filepath.Join(dir, crd.Spec.Group, strings.ToLower(crd.Spec.Names.Kind)+"_"+v.Name+".json")
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := writeJSON(p, s); err != nil {
				return err
			}
			written++
		}
	}
	if written == 0 {
		return errors.New("no CustomResourceDefinition with a schema")
	}
	return nil
}

// pinTypeMeta makes apiVersion and kind required and exact, so a schema
// found for one kind cannot pass an object of another.
func pinTypeMeta(s map[string]any, group, version, kind string) {
	props, ok := s["properties"].(map[string]any)
	if !ok {
		return
	}
	apiVersion := version
	if group != "" {
		apiVersion = group + "/" + version
	}
	props["apiVersion"] = map[string]any{"type": "string", "enum": []any{apiVersion}}
	props["kind"] = map[string]any{"type": "string", "enum": []any{kind}}
	req, _ := s["required"].([]any)
	for _, f := range []string{"apiVersion", "kind"} {
		found := false
		for _, r := range req {
			if r == f {
				found = true
			}
		}
		if !found {
			req = append(req, f)
		}
	}
	s["required"] = req
}

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
