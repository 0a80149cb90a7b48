package torchpt

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"strconv"
)

type storageID struct {
	key   string
	dtype DType
}

// storageLoader resolves a checkpoint's persistent ids to storages backed
// by the zip entries <archive>/data/<key>.
type storageLoader struct {
	r       io.ReaderAt
	size    int64
	entries map[string]*zip.File
	archive string
	file    *File
	cache   map[storageID]*Storage
}

// load handles torch.save's persistent id
// ('storage', storage_type, key, location, numel).
func (l *storageLoader) load(pid any) (any, error) {
	t, ok := pid.(Tuple)
	if !ok || len(t) != 5 || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id is a %s, not ('storage', type, key, location, numel)", typeName(pid))
	}
	typ, ok := t[1].(*Global)
	if !ok || typ.dtype == "" {
		return nil, fmt.Errorf("storage type is a %s", typeName(t[1]))
	}
	var key string
	switch k := t[2].(type) {
	case string:
		key = k
	case int64:
		key = strconv.FormatInt(k, 10)
	default:
		return nil, fmt.Errorf("storage key is a %s", typeName(t[2]))
	}
	loc, ok := t[3].(string)
	if !ok {
		return nil, fmt.Errorf("storage location is a %s", typeName(t[3]))
	}
	es := int64(typ.dtype.Size())
	numel, err := toInt(t[4], "storage size", 0, (1<<62)/es)
	if err != nil {
		return nil, err
	}
	id := storageID{key, typ.dtype}
	if s, ok := l.cache[id]; ok {
		return s, nil
	}
	name := l.archive + "/data/" + key
	zf := l.entries[name]
	if zf == nil {
		return nil, fmt.Errorf("storage key %q missing: no zip entry %s", key, name)
	}
	src, avail, err := entryReaderAt(zf, l.r, l.size)
	if err != nil {
		return nil, err
	}
	if need := int64(numel) * es; need > avail {
		return nil, fmt.Errorf("storage %q of %d %s elements needs %d bytes but %s has %d", key, numel, typ.dtype, need, name, avail)
	}
	s := &Storage{Key: key, DType: typ.dtype, Len: int64(numel), Location: loc, src: src}
	l.cache[id] = s
	l.file.Storages[key] = s
	return s, nil
}

// maxDeflateRatio is a little above deflate's largest possible compression
// ratio (about 1032:1); an entry claiming more is lying about its size.
const maxDeflateRatio = 1100

// entryReaderAt gives random access to an entry's bytes and their count.
// Stored entries (torch.save stores, 64-byte aligned) are read in place,
// so a tensor costs only its own bytes; the CRC is then not checked.
// Compressed entries, from re-zipped files, are inflated on every read.
func entryReaderAt(zf *zip.File, r io.ReaderAt, size int64) (io.ReaderAt, int64, error) {
	n := zf.UncompressedSize64
	if zf.Method == zip.Store {
		off, err := zf.DataOffset()
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", zf.Name, err)
		}
		if zf.CompressedSize64 != n || n > uint64(size) || off < 0 || off > size-int64(n) {
			return nil, 0, fmt.Errorf("%s: %d bytes at offset %d do not fit in a %d-byte file (truncated zip?)", zf.Name, n, off, size)
		}
		return io.NewSectionReader(r, off, int64(n)), int64(n), nil
	}
	if n > maxDeflateRatio*zf.CompressedSize64+1024 || n > 1<<62 {
		return nil, 0, fmt.Errorf("%s: declared size %d is impossible for %d compressed bytes", zf.Name, n, zf.CompressedSize64)
	}
	return compressedEntry{zf}, int64(n), nil
}

type compressedEntry struct{ zf *zip.File }

func (c compressedEntry) ReadAt(p []byte, off int64) (int, error) {
	rc, err := c.zf.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, rc, off); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(rc, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}
