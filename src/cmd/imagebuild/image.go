package main

import (
	"archive/tar"
	"bytes"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	binaryPath   = "usr/local/bin/bank"
	caBundlePath = "etc/ssl/certs/ca-certificates.crt"
)

// epoch is every timestamp in the image: the same binary always gives the
// same digest, so a digest in overlays/prod names exactly one build.
var epoch = time.Unix(0, 0).UTC()

// Options describe the image around the binary.
type Options struct {
	Version  string // org.opencontainers.image.version
	Revision string // org.opencontainers.image.revision (git commit), optional
	Arch     string
	// CABundle is put at /etc/ssl/certs/ca-certificates.crt, where Go's
	// crypto/x509 looks: webhook deliveries go to HTTPS endpoints, and an
	// empty base has no roots. Nil leaves it out.
	CABundle []byte
}

// Image is an empty base plus one layer holding the static binary (and
// an empty /tmp for code that expects one when no volume is mounted).
func Image(binary []byte, o Options) (v1.Image, error) {
	layerTar, err := layerTar(binary, o.CABundle)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "imagebuild: static bank binary", Comment: "kubebank"},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = o.Arch
	cf.OS = "linux"
	cf.Created = v1.Time{Time: epoch}
	labels := map[string]string{
		"org.opencontainers.image.title":   "kubebank",
		"org.opencontainers.image.source":  "https://github.com/kubebank/kubebank",
		"org.opencontainers.image.version": o.Version,
	}
	if o.Revision != "" {
		labels["org.opencontainers.image.revision"] = o.Revision
	}
	cf.Config = v1.Config{
		Entrypoint: []string{"/" + binaryPath},
		Cmd:        []string{"help"},
		// Numeric: the manifests run every bank container as 65532
		// (runAsNonRoot needs a number, there is no /etc/passwd).
		User:       "65532:65532",
		WorkingDir: "/",
		Env:        []string{"PATH=/usr/local/bin"},
		Labels:     labels,
		ExposedPorts: map[string]struct{}{
			"8000/tcp": {}, "3000/tcp": {}, "9090/tcp": {},
		},
	}
	return mutate.ConfigFile(img, cf)
}

// layerTar is the filesystem: directories owned by root, the binary
// root-owned and executable (the non-root user runs but cannot change it).
func layerTar(binary, caBundle []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := []struct {
		name string
		mode int64
	}{{"etc/", 0o755}, {"etc/ssl/", 0o755}, {"etc/ssl/certs/", 0o755}, {"tmp/", 0o1777},
		{"usr/", 0o755}, {"usr/local/", 0o755}, {"usr/local/bin/", 0o755}}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{{caBundlePath, 0o644, caBundle}, {binaryPath, 0o755, binary}}
	for _, f := range files {
		if f.data == nil {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
