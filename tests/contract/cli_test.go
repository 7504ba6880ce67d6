package contract_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// The CLI's conventions: help on stdout with exit 0, a usage error with
// exit 2, and the build in `bank version`.
func TestCLIHelpAndVersion(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "usage: bank <command>"},
		{[]string{"help"}, 0, "usage: bank <command>"},
		{[]string{"api", "-h"}, 0, "-redis-url"},
		{[]string{"worker", "--help"}, 0, "-concurrency"},
		{[]string{"version"}, 0, "go1."},
		{[]string{"--version"}, 0, "(commit "},
		{[]string{"no-such-command"}, 2, "unknown command"},
		{nil, 2, "usage: bank <command>"},
	} {
		out, err := exec.Command(bankBinary, c.args...).CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(string(out), c.want) {
			t.Errorf("bank %v: exit %d, want %d; output lacks %q:\n%s", c.args, code, c.code, c.want, out)
		}
	}
}
