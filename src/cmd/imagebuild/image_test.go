package main

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestImageLayoutAndConfig(t *testing.T) {
	binary := []byte("\x7fELF pretend static binary")
	ca := []byte("-----BEGIN CERTIFICATE-----\n")
	img, err := Image(binary, Options{Version: "1.2.3", Arch: "amd64", CABundle: ca})
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := img.MediaType()
	if mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s", mt)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/usr/local/bin/bank" {
		t.Errorf("user %q entrypoint %q", c.User, c.Entrypoint)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || c.Labels["org.opencontainers.image.version"] != "1.2.3" {
		t.Errorf("os %s arch %s labels %v", cf.OS, cf.Architecture, c.Labels)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v: want exactly one on an empty base", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	found, foundCA := false, false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == caBundlePath {
			got, _ := io.ReadAll(tr)
			foundCA = bytes.Equal(got, ca) && h.Mode == 0o644
		}
		if h.Name == binaryPath {
			found = true
			got, _ := io.ReadAll(tr)
			if !bytes.Equal(got, binary) || h.Mode != 0o755 || h.Uid != 0 {
				t.Errorf("binary in layer: mode %o uid %d, %d bytes", h.Mode, h.Uid, len(got))
			}
		}
	}
	if !found || !foundCA {
		t.Errorf("binary at %s: %v, CA bundle at %s: %v", binaryPath, found, caBundlePath, foundCA)
	}
}

// The same binary gives the same digest, a different one does not: the
// digest pinned in overlays/prod identifies one build.
func TestImageIsReproducible(t *testing.T) {
	digest := func(b string) string {
		img, err := Image([]byte(b), Options{Version: "0.1.0", Arch: "amd64"})
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	a1, a2, b := digest("a"), digest("a"), digest("b")
	if a1 != a2 {
		t.Errorf("same input, digests %s and %s", a1, a2)
	}
	if a1 == b {
		t.Error("different binaries, same digest")
	}
}
