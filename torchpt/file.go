package torchpt

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// File is an opened checkpoint.
type File struct {
	// Root is the unpickled data.pkl: for an Ultralytics checkpoint a *Dict
	// with "model", "ema", "train_args" and so on.
	Root any
	// Archive is the name of the zip's top directory (torch uses the file's
	// base name or "archive").
	Archive string
	// Version is the serialization format version from <archive>/version
	// or <archive>/.data/version, 0 if the file has neither.
	Version int
	// Storages lists the storages the pickle refers to, by key.
	Storages map[string]*Storage

	closer io.Closer
}

// Close releases the file Open opened. Tensors cannot be read after it.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// Options configures reading. The zero value is the default.
type Options struct {
	// AllowClass reports whether instances of class module.name may appear,
	// as inert *Object values. Nil means DefaultAllowClass. It cannot admit
	// functions: only the ones this package interprets are ever called.
	AllowClass func(module, name string) bool
	// MaxPickleSize bounds the size of data.pkl, which is read into memory
	// whole. Zero means 1 GiB.
	MaxPickleSize int64
}

// Open opens and reads the checkpoint file name with default options.
func Open(name string) (*File, error) { return (&Options{}).Open(name) }

// Read reads a checkpoint of size bytes from r with default options. r must
// stay readable while tensors are read.
func Read(r io.ReaderAt, size int64) (*File, error) { return (&Options{}).Read(r, size) }

// Unpickle decodes a standalone pickle (not a checkpoint archive) with
// default options. Persistent ids, and so tensors, are refused.
func Unpickle(data []byte) (any, error) { return (&Options{}).Unpickle(data) }

// Open opens and reads the checkpoint file name.
func (o *Options) Open(name string) (*File, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("torchpt: %w", err)
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("torchpt: %w", err)
	}
	f, err := o.Read(fh, fi.Size())
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%w (in %s)", err, name)
	}
	f.closer = fh
	return f, nil
}

// Unpickle decodes a standalone pickle.
func (o *Options) Unpickle(data []byte) (any, error) {
	return newUnpickler(data, "pickle", o.AllowClass).run()
}

// legacyMagic starts files written by torch.save before PyTorch 1.6 (or
// with _use_new_zipfile_serialization=False): a pickled magic number.
var legacyMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// Read reads a checkpoint of size bytes from r.
func (o *Options) Read(r io.ReaderAt, size int64) (*File, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		head := make([]byte, len(legacyMagic))
		if n, _ := r.ReadAt(head, 0); n == len(head) && bytes.Equal(head, legacyMagic) {
			return nil, errors.New("torchpt: legacy (pre-1.6, non-zip) torch.save format is not supported")
		}
		return nil, fmt.Errorf("torchpt: not a zip checkpoint: %w", err)
	}
	entries := make(map[string]*zip.File, len(zr.File))
	archive := ""
	for _, zf := range zr.File {
		if _, dup := entries[zf.Name]; dup {
			return nil, fmt.Errorf("torchpt: zip entry %q appears twice", zf.Name)
		}
		entries[zf.Name] = zf
		if dir, ok := strings.CutSuffix(zf.Name, "/data.pkl"); ok && !strings.Contains(dir, "/") {
			if archive != "" {
				return nil, fmt.Errorf("torchpt: two data.pkl entries, in %q and %q", archive, dir)
			}
			archive = dir
		}
	}
	if archive == "" {
		return nil, errors.New("torchpt: missing data.pkl: not a torch.save checkpoint")
	}
	f := &File{Archive: archive, Storages: make(map[string]*Storage)}
	if err := checkByteOrder(entries[archive+"/byteorder"]); err != nil {
		return nil, err
	}
	if f.Version, err = readVersion(entries, archive); err != nil {
		return nil, err
	}

	limit := o.MaxPickleSize
	if limit <= 0 {
		limit = 1 << 30
	}
	pkl := entries[archive+"/data.pkl"]
	data, err := readEntry(pkl, limit)
	if err != nil {
		return nil, err
	}
	u := newUnpickler(data, pkl.Name, o.AllowClass)
	l := &storageLoader{r: r, size: size, entries: entries, archive: archive, file: f, cache: make(map[storageID]*Storage)}
	u.persistentLoad = l.load
	if f.Root, err = u.run(); err != nil {
		return nil, err
	}
	return f, nil
}

// readEntry reads a small entry whole, refusing ones larger than limit.
func readEntry(zf *zip.File, limit int64) ([]byte, error) {
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("torchpt: %s is %d bytes, more than the limit of %d", zf.Name, zf.UncompressedSize64, limit)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("torchpt: %s: %w", zf.Name, err)
	}
	defer rc.Close()
	// The zip reader checks the CRC and the declared size at EOF.
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = errors.New("larger than declared")
	}
	if err != nil {
		return nil, fmt.Errorf("torchpt: %s: %w", zf.Name, err)
	}
	return data, nil
}

// checkByteOrder checks <archive>/byteorder, which torch ≥ 2.1 writes.
// Older files lack it and are little-endian.
func checkByteOrder(zf *zip.File) error {
	if zf == nil {
		return nil
	}
	b, err := readEntry(zf, 64)
	if err != nil {
		return err
	}
	switch s := strings.TrimSpace(string(b)); s {
	case "little":
		return nil
	case "big":
		return fmt.Errorf("torchpt: %s: %w", zf.Name, ErrBigEndian)
	default:
		return fmt.Errorf("torchpt: %s: unknown byte order %q", zf.Name, s)
	}
}

// readVersion reads the format version, which torch writes to
// <archive>/version (torch < 2.x) or <archive>/.data/version.
func readVersion(entries map[string]*zip.File, archive string) (int, error) {
	for _, name := range []string{archive + "/.data/version", archive + "/version"} {
		zf := entries[name]
		if zf == nil {
			continue
		}
		b, err := readEntry(zf, 64)
		if err != nil {
			return 0, err
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("torchpt: %s: bad version %q", name, b)
		}
		return v, nil
	}
	return 0, nil
}
