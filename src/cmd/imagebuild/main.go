// Command imagebuild builds the kubebank container image without a
// Docker daemon (`make image`): it compiles the static binary `bank`,
// puts it in one layer on an empty base with a numeric non-root user, and
// writes the image as an OCI layout tarball and a `docker load` tarball
// under dist/. The Dockerfile builds the same thing where Docker exists.
package main

import (
	"archive/tar"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	out := flag.String("out", "dist", "folder for the image tarballs")
	repo := flag.String("image", "kubebank/bank", "image name the manifests use")
	version := flag.String("version", "0.1.0", "image tag")
	revision := flag.String("revision", os.Getenv("GIT_COMMIT"), "git commit recorded in the image labels")
	arch := flag.String("arch", runtime.GOARCH, "target architecture (GOARCH)")
	pkg := flag.String("pkg", "./src/cmd/bank", "package of the binary")
	ca := flag.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA certificates to include (empty: none)")
	flag.Parse()
	if err := run(*out, *repo, *version, *revision, *arch, *pkg, *ca); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

// buildinfoPkg receives the version and commit at link time.
const buildinfoPkg = "github.com/kubebank/kubebank/src/buildinfo"

func run(out, repo, version, revision, arch, pkg, ca string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(out, "bank-linux-"+arch)
	// Static (no cgo), reproducible (no paths, no build id, no VCS stamp),
	// with the time zone database inside: the scheduler's --timezone
	// must work on an image that has no /usr/share/zoneinfo.
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-tags", "timetzdata",
		"-ldflags", "-s -w -buildid= -X "+buildinfoPkg+".Version="+version+" -X "+buildinfoPkg+".Commit="+revision, "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var caBundle []byte
	if ca != "" {
		if caBundle, err = os.ReadFile(ca); err != nil {
			return fmt.Errorf("CA bundle (install ca-certificates, or pass -ca-bundle ''): %w", err)
		}
	}
	img, err := Image(binary, Options{Version: version, Revision: revision, Arch: arch, CABundle: caBundle})
	if err != nil {
		return err
	}
	tag, err := name.NewTag(repo + ":" + version)
	if err != nil {
		return err
	}
	dockerTar := filepath.Join(out, "bank-image.tar")
	if err := tarball.WriteToFile(dockerTar, tag, img); err != nil {
		return err
	}
	ociDir := filepath.Join(out, "bank-oci")
	if err := os.RemoveAll(ociDir); err != nil {
		return err
	}
	lp, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag.String(),
	})); err != nil {
		return err
	}
	ociTar := filepath.Join(out, "bank-oci.tar")
	if err := tarDir(ociDir, ociTar); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("image %s@%s\n  %s (docker load, kind load image-archive)\n  %s (OCI layout)\n", tag, digest, dockerTar, ociTar)
	return nil
}

// tarDir packs an OCI layout folder into one tarball (skopeo, crane and
// podman read it as oci-archive:).
func tarDir(dir, dest string) error {
	f, err := os.Create(dest)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname = epoch, 0, 0, "", ""
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
