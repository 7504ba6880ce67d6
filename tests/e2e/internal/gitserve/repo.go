package gitserve

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a working clone whose commits are pushed to a served bare
// repository.
type Repo struct {
	Dir  string // the working tree
	Bare string // the served bare repository
	t    testing.TB
}

// Clone clones src (this repository) into dir/work, lays the working
// tree's files at paths over it (so uncommitted manifest edits are tested
// too) and commits them, and pushes to a bare repository served as
// dir/served/<name>.git on branch main.
func Clone(t testing.TB, src, dir, name string, paths []string) *Repo {
	t.Helper()
	r := &Repo{Dir: filepath.Join(dir, "work"), Bare: filepath.Join(dir, "served", name+".git"), t: t}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.git(dir, "clone", "--quiet", "--no-hardlinks", src, r.Dir)
	for _, p := range paths {
		if err := os.RemoveAll(filepath.Join(r.Dir, p)); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", "-a", filepath.Join(src, p), filepath.Join(r.Dir, p)).CombinedOutput(); err != nil {
			t.Fatalf("copying %s: %v: %s", p, err, out)
		}
	}
	r.Commit("e2e: the working tree's manifests")
	r.git(dir, "init", "--quiet", "--bare", r.Bare)
	r.Push()
	return r
}

// Commit commits everything in the working tree (an empty commit when
// nothing changed) and returns its hash.
func (r *Repo) Commit(msg string) string {
	r.git(r.Dir, "add", "-A")
	r.git(r.Dir, "commit", "--quiet", "--allow-empty", "-m", msg)
	return r.Head()
}

// Push sends HEAD to the served repository's main.
func (r *Repo) Push() {
	r.git(r.Dir, "push", "--quiet", "--force", r.Bare, "HEAD:refs/heads/main")
}

// Head is the commit checked out.
func (r *Repo) Head() string {
	return strings.TrimSpace(r.git(r.Dir, "rev-parse", "HEAD"))
}

// Revert commits the reversal of HEAD.
func (r *Repo) Revert() string {
	r.git(r.Dir, "revert", "--no-edit", "HEAD")
	return r.Head()
}

// Path is a file in the working tree.
func (r *Repo) Path(p string) string { return filepath.Join(r.Dir, filepath.FromSlash(p)) }

func (r *Repo) git(dir string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@localhost",
		"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@localhost",
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// String is for messages.
func (r *Repo) String() string { return fmt.Sprintf("%s (served from %s)", r.Dir, r.Bare) }
