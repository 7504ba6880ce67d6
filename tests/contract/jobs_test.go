package contract_test

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/tests/internal/manifests"
)

// runJobs runs every CronJob container of the bank image once, as its
// schedule would: with its args and env (Services pointed at the test's
// stand-ins, each volume a fresh directory). It must know every env var
// it is given, exit 0, and leave what it promises: a backup job
// (`admin backup --out-dir`) one RDB in its directory.
func runJobs(t *testing.T, objs []manifests.Object, hosts, local map[string]string, secret func(string, string) string) {
	t.Helper()
	for _, o := range objs {
		if o.Kind != "CronJob" {
			continue
		}
		for _, c := range manifests.Containers(o) {
			if img, _ := c["image"].(string); !strings.HasPrefix(img, bankImage+":") && !strings.HasPrefix(img, bankImage+"@") {
				continue
			}
			runJob(t, o.Name, c, hosts, local, secret)
		}
	}
}

func runJob(t *testing.T, name string, c map[string]any, hosts, local map[string]string, secret func(string, string) string) {
	t.Helper()
	var args []string
	for _, a := range c["args"].([]any) {
		args = append(args, fmt.Sprint(a))
	}
	// Every volume is a directory of the test's.
	dirs := map[string]string{}
	mounts, _ := c["volumeMounts"].([]any)
	for _, m := range mounts {
		dirs[fmt.Sprint(manifests.Get(m, "mountPath"))] = t.TempDir()
	}
	for i, a := range args {
		if d, ok := dirs[a]; ok {
			args[i] = d
		}
	}
	sub := args[:min(2, len(args))]
	known, err := flagEnv(sub...)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "TMPDIR=" + t.TempDir()}
	envs, _ := c["env"].([]any)
	for _, e := range envs {
		n := fmt.Sprint(manifests.Get(e, "name"))
		if !known[n] {
			t.Errorf("%s: env %s is not read by `bank %s` (its flags give %v)", name, n, strings.Join(sub, " "), slices.Sorted(maps.Keys(known)))
			continue
		}
		val, err := localAddrs(manifests.EnvValue(e, secret), hosts, local)
		if err != nil {
			t.Errorf("%s: %s: %v", name, n, err)
			continue
		}
		environ = append(environ, n+"="+val)
	}
	cmd := exec.Command(bankBinary, args...)
	cmd.Env = environ
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s: bank %v: %v\n%s", name, args, err, out)
		return
	}
	if slices.Equal(sub, []string{"admin", "backup"}) {
		i := slices.Index(args, "--out-dir")
		if i < 0 || i+1 >= len(args) {
			t.Errorf("%s: a backup job without --out-dir: %v", name, args)
			return
		}
		got, _ := filepath.Glob(filepath.Join(args[i+1], "bank-*.rdb"))
		if len(got) != 1 {
			t.Errorf("%s: %d snapshots in --out-dir after one run, want 1\n%s", name, len(got), out)
			return
		}
		if b, err := os.ReadFile(got[0]); err != nil || !strings.HasPrefix(string(b), "REDIS") {
			t.Errorf("%s: %s is not an RDB (%v)", name, got[0], err)
		}
	}
	t.Logf("%s: %s", name, strings.TrimSpace(string(out)))
}
