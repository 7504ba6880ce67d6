// Package controlplane starts a Kubernetes control plane from built
// binaries, all on 127.0.0.1: etcd, kube-apiserver (TLS with a test CA, a
// static admin token, RBAC, PodSecurity admission), kube-controller-manager,
// kube-scheduler, and KWOK's simulated nodes in place of kubelets.
package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubebank/kubebank/tests/e2e/internal/pki"
	"github.com/kubebank/kubebank/tests/e2e/internal/proc"
)

// Binaries are the built programs.
type Binaries struct {
	Etcd, APIServer, ControllerManager, Scheduler, KWOK string
	// KWOKStages are KWOK's stage files (its module ships them): what a
	// simulated node and Pod go through. A kwok without them does nothing.
	KWOKStages []string
}

// StartEtcd runs one etcd for the whole test (each cluster gets its own
// key prefix in it) and returns its client URL.
func StartEtcd(t testing.TB, bin, dir string) string {
	t.Helper()
	client := fmt.Sprintf("http://127.0.0.1:%d", proc.FreePort(t))
	peer := fmt.Sprintf("http://127.0.0.1:%d", proc.FreePort(t))
	p := proc.Start(t, dir, "etcd", nil, bin,
		"--name=e2e",
		"--data-dir="+filepath.Join(dir, "etcd-data"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=e2e="+peer,
		"--listen-metrics-urls=",
		// Throwaway data: no fsync wait on every write.
		"--unsafe-no-fsync",
		"--log-level=warn",
	)
	if err := p.WaitFor(time.Minute, func(ctx context.Context) error {
		return get(ctx, http.DefaultClient, client+"/health", "")
	}); err != nil {
		t.Fatal(err)
	}
	return client
}

// Cluster is a running control plane.
type Cluster struct {
	URL        string // https://127.0.0.1:<port>
	Token      string // the static admin token (group system:masters)
	Kubeconfig string // a kubeconfig file for URL and Token
	PKI        pki.Files
	Dir        string // logs and files of this cluster
	procs      []*proc.Proc
}

// Start runs kube-apiserver on the etcd prefix (a fresh prefix is a fresh
// cluster), then the controller-manager, the scheduler and KWOK.
func Start(t testing.TB, bins Binaries, etcdURL, prefix, dir string) *Cluster {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := pki.Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{
		URL:   fmt.Sprintf("https://127.0.0.1:%d", proc.FreePort(t)),
		Token: "e2e-admin-" + filepath.Base(dir),
		PKI:   files,
		Dir:   dir,
	}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(c.Token+",e2e-admin,e2e-admin,system:masters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, []byte(kubeconfig(c)), 0o600); err != nil {
		t.Fatal(err)
	}
	port := c.URL[len("https://127.0.0.1:"):]
	api := proc.Start(t, dir, "kube-apiserver", nil, bins.APIServer,
		"--etcd-servers="+etcdURL,
		"--etcd-prefix="+prefix,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+port,
		"--tls-cert-file="+files.ServingCert, "--tls-private-key-file="+files.ServingKey,
		"--client-ca-file="+files.CACert,
		"--token-auth-file="+tokens,
		"--authorization-mode=RBAC",
		"--enable-admission-plugins=PodSecurity,NamespaceLifecycle,ServiceAccount,DefaultStorageClass,StorageObjectInUseProtection",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+files.SAPublic,
		"--service-account-signing-key-file="+files.SAPrivate,
		// Addresses the apiserver hands out to Services; nothing routes to
		// them (no kube-proxy), they only have to be valid.
		"--service-cluster-ip-range=10.96.0.0/16",
		"--service-node-port-range=30000-32767",
		// As a real cluster's: privileged containers exist, so refusing one
		// in bank is Pod Security's doing.
		"--allow-privileged=true",
		"--profiling=false",
		"--v=0",
	)
	c.procs = append(c.procs, api)
	hc := c.HTTPClient()
	if err := api.WaitFor(2*time.Minute, func(ctx context.Context) error {
		return get(ctx, hc, c.URL+"/readyz", c.Token)
	}); err != nil {
		t.Fatal(err)
	}
	kcm := proc.Start(t, dir, "kube-controller-manager", nil, bins.ControllerManager,
		"--kubeconfig="+c.Kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=*",
		"--root-ca-file="+files.CACert,
		"--service-account-private-key-file="+files.SAPrivate,
		"--use-service-account-credentials=false",
		"--cluster-cidr=10.244.0.0/16", "--allocate-node-cidrs=false",
		// Fast enough that a test waiting on a rollout or a PVC is not
		// waiting on a resync.
		"--concurrent-deployment-syncs=5", "--concurrent-statefulset-syncs=5",
		"--pvclaimbinder-sync-period=2s",
		"--profiling=false",
	)
	sched := proc.Start(t, dir, "kube-scheduler", nil, bins.Scheduler,
		"--kubeconfig="+c.Kubeconfig,
		"--authentication-kubeconfig="+c.Kubeconfig,
		"--authorization-kubeconfig="+c.Kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--profiling=false",
	)
	kwokArgs := []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--manage-all-nodes=true",
		"--server-address=127.0.0.1:" + fmt.Sprint(proc.FreePort(t)),
	}
	for _, s := range bins.KWOKStages {
		kwokArgs = append(kwokArgs, "--config="+s)
	}
	kwok := proc.Start(t, dir, "kwok", nil, bins.KWOK, kwokArgs...)
	c.procs = append(c.procs, kcm, sched, kwok)
	return c
}

// Alive fails t if a process of the cluster has exited.
func (c *Cluster) Alive(t testing.TB) {
	t.Helper()
	for _, p := range c.procs {
		if done, err := p.Exited(); done {
			t.Fatalf("%s exited (%v):\n%s", p.Name, err, proc.Tail(p.Log, 40))
		}
	}
}

// Stop ends the cluster's processes (the test's cleanup does too).
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].Stop()
	}
}

// HTTPClient trusts the cluster's CA.
func (c *Cluster) HTTPClient() *http.Client {
	pool := x509.NewCertPool()
	if data, err := os.ReadFile(c.PKI.CACert); err == nil {
		pool.AppendCertsFromPEM(data)
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

func kubeconfig(c *Cluster) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: e2e
  context:
    cluster: e2e
    user: admin
current-context: e2e
`, c.URL, c.PKI.CACert, c.Token)
}

func get(ctx context.Context, hc *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
