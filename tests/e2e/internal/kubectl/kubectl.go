// Package kubectl runs the built kubectl against a test cluster and
// decodes what it prints.
package kubectl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// Kubectl is a kubectl binary bound to one kubeconfig.
type Kubectl struct {
	Bin, Kubeconfig string
}

// Result is one run's output.
type Result struct {
	Stdout, Stderr string
}

// Run runs kubectl with args (and stdin, when not nil); an error carries
// stderr.
func (k Kubectl) Run(stdin io.Reader, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.Bin, append([]string{"--kubeconfig=" + k.Kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err != nil {
		return r, fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, r.Stderr)
	}
	return r, nil
}

// Object is a decoded Kubernetes object (the fields the test reads).
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		ResourceVersion   string            `json:"resourceVersion"`
		Generation        int64             `json:"generation"`
		Labels            map[string]string `json:"labels"`
		Annotations       map[string]string `json:"annotations"`
		DeletionTimestamp *string           `json:"deletionTimestamp"`
		ManagedFields     []ManagedFields   `json:"managedFields"`
	} `json:"metadata"`
	Spec   json.RawMessage `json:"spec"`
	Status json.RawMessage `json:"status"`
	Raw    json.RawMessage `json:"-"`
}

// ManagedFields is one entry of metadata.managedFields: what a field
// manager last wrote, and when.
type ManagedFields struct {
	Manager     string          `json:"manager"`
	Operation   string          `json:"operation"`
	Subresource string          `json:"subresource"`
	Time        string          `json:"time"`
	FieldsV1    json.RawMessage `json:"fieldsV1"`
}

// ManagedBy is manager's entries of managedFields, encoded: it changes
// when a write of that manager changes the object, and not when another
// controller writes its own fields (status, a scaled replica count).
func (o Object) ManagedBy(manager string) string {
	var mine []ManagedFields
	for _, m := range o.Metadata.ManagedFields {
		if m.Manager == manager {
			mine = append(mine, m)
		}
	}
	data, _ := json.Marshal(mine)
	return string(data)
}

// Key names an object uniquely within a cluster.
func (o Object) Key() string {
	return fmt.Sprintf("%s/%s/%s/%s", o.APIVersion, o.Kind, o.Metadata.Namespace, o.Metadata.Name)
}

// Condition is one entry of status.conditions.
type Condition struct {
	Type, Status, Reason, Message string
}

// Conditions decodes status.conditions.
func (o Object) Conditions() []Condition {
	var s struct{ Conditions []Condition }
	_ = json.Unmarshal(o.Status, &s)
	return s.Conditions
}

// Condition returns the condition of type typ (Status "" when absent).
func (o Object) Condition(typ string) Condition {
	for _, c := range o.Conditions() {
		if c.Type == typ {
			return c
		}
	}
	return Condition{Type: typ}
}

// Get returns the objects `kubectl get args -o json` prints (a list or one).
func (k Kubectl) Get(args ...string) ([]Object, error) {
	r, err := k.Run(nil, append(append([]string{"get"}, args...), "-o", "json")...)
	if err != nil {
		return nil, err
	}
	return Decode([]byte(r.Stdout))
}

// Decode reads a list or a single object.
func Decode(data []byte) ([]Object, error) {
	var list struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, err
	}
	raws := list.Items
	if !strings.HasSuffix(list.Kind, "List") {
		raws = []json.RawMessage{data}
	}
	objs := make([]Object, 0, len(raws))
	for _, raw := range raws {
		var o Object
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		o.Raw = raw
		objs = append(objs, o)
	}
	return objs, nil
}
