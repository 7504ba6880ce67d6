package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/tests/e2e/internal/kubectl"
)

// addNodes registers three KWOK nodes, one per zone, so prod's and
// staging's hard spread over hostnames can be met, and PersistentVolumes
// for Redis's claims to bind to (no provisioner runs here).
func addNodes(t *testing.T, k kubectl.Kubectl) {
	t.Helper()
	var b strings.Builder
	for i, zone := range []string{"a", "b", "c"} {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-%[1]d
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-%[1]d
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/zone: zone-%[2]s
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, ephemeral-storage: 500Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, ephemeral-storage: 500Gi, pods: "110"}
`, i, zone)
	}
	// More than any overlay claims today (one Redis), so adding replicas
	// does not need this test changed. Never mounted: no kubelet runs.
	for i := range 8 {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: e2e-pv-%[1]d
spec:
  capacity: {storage: 100Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /tmp/kubebank-e2e-pv-%[1]d}
`, i)
	}
	if _, err := k.Run(strings.NewReader(b.String()), "create", "-f", "-"); err != nil {
		t.Fatalf("creating nodes and volumes: %v", err)
	}
}
