// Package flux runs Flux's source-controller and kustomize-controller as
// local processes against a test cluster, as they run in one: watching
// every namespace, source-controller serving artifacts over HTTP (here on
// 127.0.0.1) to kustomize-controller.
package flux

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubebank/kubebank/tests/e2e/internal/controlplane"
	"github.com/kubebank/kubebank/tests/e2e/internal/proc"
)

// Namespace is where the controllers' own objects live.
const Namespace = "flux-system"

// Start runs both controllers until t ends and waits until they are healthy.
func Start(t testing.TB, c *controlplane.Cluster, sourceController, kustomizeController string) {
	t.Helper()
	env := []string{"KUBECONFIG=" + c.Kubeconfig, "RUNTIME_NAMESPACE=" + Namespace}
	storage := fmt.Sprintf("127.0.0.1:%d", proc.FreePort(t))
	srcHealth := fmt.Sprintf("127.0.0.1:%d", proc.FreePort(t))
	artifacts := filepath.Join(c.Dir, "flux-artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	src := proc.Start(t, c.Dir, "source-controller", env, sourceController,
		"--storage-path="+artifacts,
		"--storage-addr="+storage, "--storage-adv-addr="+storage,
		"--health-addr="+srcHealth,
		"--metrics-addr=0",
		"--enable-leader-election=false",
		"--watch-all-namespaces=true",
		"--log-level=debug",
	)
	kusHealth := fmt.Sprintf("127.0.0.1:%d", proc.FreePort(t))
	kus := proc.Start(t, c.Dir, "kustomize-controller", env, kustomizeController,
		"--health-addr="+kusHealth,
		"--metrics-addr=0",
		"--enable-leader-election=false",
		"--watch-all-namespaces=true",
		"--log-level=debug",
	)
	for _, w := range []struct {
		p    *proc.Proc
		addr string
	}{{src, srcHealth}, {kus, kusHealth}} {
		url := "http://" + w.addr + "/readyz"
		if err := w.p.WaitFor(time.Minute, func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", url, resp.Status)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}
