package main

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tarFile writes a tar of the given headers (regular files get body "x").
func tarFile(t *testing.T, hdrs ...*tar.Header) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.tar")
	f, err := os.Create(p)
	require.NoError(t, err)
	tw := tar.NewWriter(f)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 1
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte("x"))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, f.Close())
	return p
}

func TestExtractTar(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out")
	n, err := extractTar(tarFile(t,
		&tar.Header{Name: "sub/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "sub/a.bin", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "./b.json", Typeflag: tar.TypeReg, Mode: 0o644},
	), dest, false)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	b, err := os.ReadFile(filepath.Join(dest, "sub", "a.bin"))
	require.NoError(t, err)
	assert.Equal(t, "x", string(b))

	for name, h := range map[string]*tar.Header{
		"parent":   {Name: "../evil", Typeflag: tar.TypeReg},
		"deep":     {Name: "a/../../evil", Typeflag: tar.TypeReg},
		"absolute": {Name: "/etc/evil", Typeflag: tar.TypeReg},
		"symlink":  {Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		"hardlink": {Name: "hard", Typeflag: tar.TypeLink, Linkname: "sub/a.bin"},
		"device":   {Name: "dev", Typeflag: tar.TypeChar},
	} {
		t.Run(name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "out")
			_, err := extractTar(tarFile(t, &tar.Header{Name: "ok", Typeflag: tar.TypeReg}, h), d, false)
			assert.Error(t, err)
			_, statErr := os.Stat(d)
			assert.ErrorIs(t, statErr, os.ErrNotExist, "nothing under the final name")
			entries, _ := os.ReadDir(filepath.Dir(d))
			assert.Empty(t, entries, "the temporary directory is removed")
		})
	}

	bad := filepath.Join(dir, "bad.tar")
	require.NoError(t, os.WriteFile(bad, []byte("not a tar file, not at all, no headers here"), 0o644))
	_, err = extractTar(bad, filepath.Join(dir, "x"), false)
	assert.ErrorContains(t, err, "not a valid tar file")
}
