package datastore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// ChangeKind says how a workspace file differs from the recorded version.
type ChangeKind string

const (
	Modified ChangeKind = "modified"
	New      ChangeKind = "new"
	Deleted  ChangeKind = "deleted"
)

// Change is one file that differs. Path is relative to the output (""
// for an output that is a single file).
type Change struct {
	Kind ChangeKind
	Path string
}

// OutStatus compares one output's workspace copy with its .dvc file and
// its recorded version with the cache (and a remote, when asked).
type OutStatus struct {
	// DVCFile and Path are relative to the repository root.
	DVCFile, Path string
	Out           Out
	// WorkspaceHash is the hash of what is in the workspace now, "" when
	// nothing is there.
	WorkspaceHash string
	// Changes lists the differing files. An entry with an empty Path
	// stands for the whole output: Deleted when nothing is in the
	// workspace, Modified when a directory's manifest is not in the cache
	// (so only that it changed is known) or a file changed.
	Changes []Change
	// ManifestMissing is set when a directory's manifest is in neither
	// the cache nor (when asked) the remote.
	ManifestMissing bool
	// NotInCache counts the objects of the recorded version missing from
	// the cache.
	NotInCache int
	// With a remote: objects to push (in the cache, not on the remote)
	// and to pull (on the remote, not in the cache), and objects that are
	// in neither.
	ToPush, ToPull, Lost int
}

// Clean reports whether the output needs nothing done.
func (s OutStatus) Clean() bool {
	return len(s.Changes) == 0 && s.NotInCache == 0 && !s.ManifestMissing && s.ToPush == 0 && s.ToPull == 0 && s.Lost == 0
}

// Status compares the outputs of targets (all when none) with the
// workspace and the cache, and with the remote when opt names or holds
// one. Nothing is written but the hash state.
func (r *Repo) Status(ctx context.Context, targets []string, opt *TransferOptions) ([]OutStatus, error) {
	outs, err := r.collect(ctx, targets)
	if err != nil {
		return nil, err
	}
	var res []OutStatus
	var remote *remoteSet
	if opt != nil {
		if remote, err = r.openRemotes(ctx, outs, opt); err != nil {
			return nil, err
		}
	}
	cache := r.cache()
	for _, t := range outs {
		st := OutStatus{DVCFile: r.rel(t.dvcPath), Path: r.rel(t.abs), Out: t.out}
		var manifest Manifest
		if t.out.IsDir() {
			manifest, err = r.loadManifest(t.out.MD5)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%s: %w", st.DVCFile, err)
			}
			if manifest == nil && remote != nil {
				if store := remote.storeFor(t); store != nil {
					manifest, _, err = fetchManifest(ctx, store, t.out.MD5)
					if err != nil && !errors.Is(err, errNoObject) {
						return nil, fmt.Errorf("%s: %w", st.DVCFile, err)
					}
				}
			}
			st.ManifestMissing = manifest == nil && t.out.MD5 != ""
		}
		if err := r.compareWorkspace(ctx, t, manifest, &st); err != nil {
			return nil, fmt.Errorf("%s: %w", st.DVCFile, err)
		}
		if t.out.Cache && t.out.MD5 != "" {
			oids := objectsOf(t.out, manifest)
			for _, oid := range oids {
				if !cache.has(oid) {
					st.NotInCache++
				}
			}
			if remote != nil && t.out.Push {
				if store := remote.storeFor(t); store != nil {
					on, err := remoteHas(ctx, store, oids, r.transferJobs())
					if err != nil {
						return nil, err
					}
					for _, oid := range oids {
						inCache := cache.has(oid)
						switch {
						case inCache && !on[oid]:
							st.ToPush++
						case !inCache && on[oid]:
							st.ToPull++
						case !inCache && !on[oid]:
							st.Lost++
						}
					}
				}
			}
		}
		res = append(res, st)
	}
	r.saveState()
	return res, nil
}

// objectsOf lists the objects of an output's recorded version: the file,
// or the manifest and every file it lists (the manifest last, as DVC
// pushes it, so that a manifest on a remote means its files are there).
func objectsOf(o Out, m Manifest) []string {
	if !o.IsDir() {
		return []string{o.MD5}
	}
	seen := map[string]bool{}
	var oids []string
	for _, e := range m {
		if !seen[e.MD5] {
			seen[e.MD5] = true
			oids = append(oids, e.MD5)
		}
	}
	return append(oids, o.MD5)
}

// loadManifest reads a directory's manifest from the cache, checking it.
func (r *Repo) loadManifest(oid string) (Manifest, error) {
	data, err := r.cache().readObject(oid)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", r.cache().path(oid), err)
	}
	return m, nil
}

// compareWorkspace fills in st's workspace hash and changes.
func (r *Repo) compareWorkspace(ctx context.Context, t tracked, m Manifest, st *OutStatus) error {
	fi, err := os.Stat(t.abs)
	if errors.Is(err, os.ErrNotExist) {
		// The whole output is missing (a fresh clone before pull): one
		// entry says so better than one per file.
		if t.out.MD5 != "" {
			st.Changes = []Change{{Deleted, ""}}
		}
		return nil
	}
	if err != nil {
		return err
	}
	h := r.hasher()
	if !fi.IsDir() {
		items := []fileItem{{abs: t.abs, st: stampOf(fi)}}
		if err := h.hashItems(ctx, items, nil, ""); err != nil {
			return err
		}
		st.WorkspaceHash = items[0].md5
		switch {
		case t.out.IsDir():
			st.Changes = []Change{{Modified, ""}}
		case items[0].md5 != t.out.MD5:
			st.Changes = []Change{{Modified, ""}}
		}
		return nil
	}
	if err := checkDvcignore(r.Root, t.abs); err != nil {
		return err
	}
	ws, _, err := h.manifest(ctx, t.abs, nil)
	if err != nil {
		return err
	}
	st.WorkspaceHash = ws.Hash()
	if st.WorkspaceHash == t.out.MD5 {
		return nil
	}
	if m == nil {
		st.Changes = []Change{{Modified, ""}}
		return nil
	}
	st.Changes = diffManifests(m, ws)
	return nil
}

// diffManifests lists how have differs from want, sorted by path.
func diffManifests(want, have Manifest) []Change {
	w := make(map[string]string, len(want))
	for _, e := range want {
		w[e.RelPath] = e.MD5
	}
	var ch []Change
	for _, e := range have {
		old, ok := w[e.RelPath]
		switch {
		case !ok:
			ch = append(ch, Change{New, e.RelPath})
		case old != e.MD5:
			ch = append(ch, Change{Modified, e.RelPath})
		}
		delete(w, e.RelPath)
	}
	for p := range w {
		ch = append(ch, Change{Deleted, p})
	}
	sort.Slice(ch, func(i, j int) bool { return ch[i].Path < ch[j].Path })
	return ch
}

// outPath is the workspace path of a file of an output.
func outPath(t tracked, rel string) string {
	if rel == "" {
		return t.abs
	}
	return filepath.Join(t.abs, filepath.FromSlash(rel))
}
