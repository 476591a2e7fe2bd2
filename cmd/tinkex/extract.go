package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// extractTar unpacks the tar file at archive into a new directory dest,
// safely: only regular files and directories, every name relative and
// inside dest (no absolute paths, no "..", no links, no devices), and no
// more bytes in all than the archive itself holds (a sparse entry, which
// archive/tar hands out as a regular file of zeros, could otherwise fill
// the disk from a few KiB). It unpacks into a temporary directory next to dest and renames it to dest
// at the end (replacing an existing dest when replace), so a failure
// leaves dest as it was. It returns how many files it wrote.
func extractTar(archive, dest string, replace bool) (int, error) {
	f, err := os.Open(archive)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.extract")
	if err != nil {
		return 0, err
	}
	n, err := unpack(tar.NewReader(f), tmp, fi.Size())
	if err == nil && replace {
		err = os.RemoveAll(dest)
	}
	if err == nil {
		err = os.Rename(tmp, dest)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return 0, err
	}
	return n, nil
}

// unpack writes the entries of tr under dir, at most budget bytes of file
// data in all.
func unpack(tr *tar.Reader, dir string, budget int64) (int, error) {
	files := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return files, fmt.Errorf("the archive is not a valid tar file: %w", err)
		}
		name, err := safeName(hdr.Name)
		if err != nil {
			return files, err
		}
		target := filepath.Join(dir, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return files, err
			}
		case tar.TypeReg:
			if hdr.Size < 0 || hdr.Size > budget {
				return files, fmt.Errorf("the archive holds %q of %d bytes, larger than the archive itself (a sparse or forged entry)", hdr.Name, hdr.Size)
			}
			budget -= hdr.Size
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return files, err
			}
			if err := writeFile(target, tr, hdr.Size); err != nil {
				return files, err
			}
			files++
		default:
			return files, fmt.Errorf("the archive holds %q of type %q (links and devices are refused)", hdr.Name, string(hdr.Typeflag))
		}
	}
}

// safeName checks that an entry stays inside the directory it is unpacked
// into.
func safeName(name string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(name))
	if name == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) ||
		strings.ContainsRune(name, 0) || filepath.VolumeName(clean) != "" {
		return "", fmt.Errorf("the archive holds an unsafe path %q (absolute or outside the directory)", name)
	}
	return clean, nil
}

func writeFile(path string, r io.Reader, size int64) error {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(r, size))
	if err == nil && n != size {
		err = errors.New("the archive ended inside " + filepath.Base(path))
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
