package main

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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

// sparseTar writes a PAX (GNU sparse 1.0) tar of a few KiB whose one entry,
// a regular file, unpacks to realSize bytes: one data byte, the rest a hole
// that archive/tar reads as zeros.
func sparseTar(t *testing.T, realSize int64) string {
	t.Helper()
	header := func(name string, typ byte, size int) []byte {
		b := make([]byte, 512)
		copy(b, name)
		copy(b[100:], "0000644\x00")
		copy(b[108:], "0000000\x00")
		copy(b[116:], "0000000\x00")
		copy(b[124:], fmt.Sprintf("%011o\x00", size))
		copy(b[136:], "00000000000\x00")
		b[156] = typ
		copy(b[257:], "ustar\x0000")
		copy(b[148:], "        ")
		sum := 0
		for _, c := range b {
			sum += int(c)
		}
		copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
		return b
	}
	pad := func(b []byte) []byte { return append(b, make([]byte, (512-len(b)%512)%512)...) }
	record := func(k, v string) string {
		s := " " + k + "=" + v + "\n"
		for n := len(s); ; {
			r := strconv.Itoa(n) + s
			if len(r) == n {
				return r
			}
			n = len(r)
		}
	}
	pax := record("GNU.sparse.major", "1") + record("GNU.sparse.minor", "0") +
		record("GNU.sparse.name", "adapter_model.safetensors") + record("GNU.sparse.realsize", strconv.FormatInt(realSize, 10))
	sparseMap := make([]byte, 512)
	copy(sparseMap, "1\n0\n1\n") // one region: offset 0, length 1
	data := append(sparseMap, 'x')
	var out []byte
	out = append(out, header("PaxHeaders/adapter_model.safetensors", tar.TypeXHeader, len(pax))...)
	out = append(out, pad([]byte(pax))...)
	out = append(out, header("GNUSparseFile.0/adapter_model.safetensors", tar.TypeReg, len(data))...)
	out = append(out, pad(data)...)
	out = append(out, make([]byte, 1024)...)
	p := filepath.Join(t.TempDir(), "sparse.tar")
	require.NoError(t, os.WriteFile(p, out, 0o644))
	return p
}

// A hostile archive of a few KiB can declare a sparse entry of any size,
// which archive/tar hands out as a regular file full of zeros: unpacking
// it would fill the disk. No entry may unpack to more bytes than the
// archive holds; this one is refused before anything is written.
func TestExtractTarRefusesEntriesLargerThanTheArchive(t *testing.T) {
	archive := sparseTar(t, 64<<20)
	fi, err := os.Stat(archive)
	require.NoError(t, err)
	require.Less(t, fi.Size(), int64(8<<10), "the archive itself is small")
	tr := tar.NewReader(mustOpen(t, archive))
	h, err := tr.Next()
	require.NoError(t, err)
	require.Equal(t, byte(tar.TypeReg), h.Typeflag, "archive/tar presents the sparse entry as a regular file")
	require.Equal(t, int64(64<<20), h.Size)

	dest := filepath.Join(t.TempDir(), "out")
	_, err = extractTar(archive, dest, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than the archive")
	_, statErr := os.Stat(dest)
	assert.ErrorIs(t, statErr, os.ErrNotExist, "nothing under the final name")
	entries, _ := os.ReadDir(filepath.Dir(dest))
	assert.Empty(t, entries, "the temporary directory is removed")
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}
