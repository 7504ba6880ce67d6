// Package manifests renders the repository's Kustomize trees the way
// `kubectl apply -k` does (krusty with the default load restrictor) and
// gives the tests typed access to the objects.
package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Envs are the overlays, in promotion order.
var Envs = []string{"dev", "staging", "prod"}

// Root is the repository root (two levels above this file's folder).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// Object is one rendered Kubernetes object.
type Object struct {
	APIVersion, Kind, Namespace, Name string
	Raw                               map[string]any
	YAML                              []byte
}

// ID names the object in messages: Kind/namespace/name.
func (o Object) ID() string { return o.Kind + "/" + o.Namespace + "/" + o.Name }

// Render builds the kustomization in dir (relative to Root) with the
// default options: LoadRestrictionsRootOnly, no plugins, as kubectl does.
func Render(dir string) ([]Object, []byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(Root(), dir))
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	all, err := m.AsYaml()
	if err != nil {
		return nil, nil, err
	}
	var objs []Object
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, nil, err
		}
		var raw map[string]any
		if err := yaml.Unmarshal(y, &raw); err != nil {
			return nil, nil, err
		}
		objs = append(objs, Object{
			APIVersion: r.GetApiVersion(), Kind: r.GetKind(),
			Namespace: r.GetNamespace(), Name: r.GetName(), Raw: raw, YAML: y,
		})
	}
	return objs, all, nil
}

// Find returns the object of that kind and name (any namespace), or nil.
func Find(objs []Object, kind, name string) *Object {
	for i := range objs {
		if objs[i].Kind == kind && objs[i].Name == name {
			return &objs[i]
		}
	}
	return nil
}

// Kustomizations lists every folder under Root holding a
// kustomization.yaml (outside tests/ and src/), sorted.
func Kustomizations() ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(Root(), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(Root(), p)
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && rel != ".") {
			return filepath.SkipDir
		}
		if d.IsDir() && (rel == "src" || rel == "tests" || rel == "dist" || rel == "bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "kustomization.yaml" {
			dirs = append(dirs, filepath.Dir(rel))
		}
		return nil
	})
	sort.Strings(dirs)
	return dirs, err
}

// Get walks raw along path (map keys; an int indexes a list) and returns
// what is there, or nil.
func Get(raw any, path ...any) any {
	cur := raw
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[k]
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			cur = l[k]
		}
	}
	return cur
}

// PodSpec returns the pod template spec of a workload, or nil.
func PodSpec(o Object) map[string]any {
	switch o.Kind {
	case "CronJob":
		m, _ := Get(o.Raw, "spec", "jobTemplate", "spec", "template", "spec").(map[string]any)
		return m
	case "Deployment", "StatefulSet", "DaemonSet", "Job":
		m, _ := Get(o.Raw, "spec", "template", "spec").(map[string]any)
		return m
	}
	return nil
}

// Containers returns the (init and regular) containers of a workload.
func Containers(o Object) []map[string]any {
	ps := PodSpec(o)
	if ps == nil {
		return nil
	}
	var out []map[string]any
	for _, key := range []string{"initContainers", "containers"} {
		l, _ := ps[key].([]any)
		for _, c := range l {
			if m, ok := c.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}
