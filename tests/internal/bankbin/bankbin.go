// Package bankbin builds the real `bank` binary once for a test package
// that runs it as a process.
package bankbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Run builds ./src/cmd/bank into a temporary folder, stores its path in
// *bin, runs the package's tests and removes the folder. It returns the
// exit code for TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(bankbin.Run(m, &bankBinary)) }
func Run(m *testing.M, bin *string) int {
	dir, err := os.MkdirTemp("", "bank-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*bin = filepath.Join(dir, "bank")
	build := exec.Command("go", "build", "-o", *bin, "github.com/kubebank/kubebank/src/cmd/bank")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building bank:", err)
		return 1
	}
	return m.Run()
}
