package datastore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// CheckoutResult counts the workspace files a checkout wrote or removed.
type CheckoutResult struct {
	Added, Modified, Deleted, Unchanged int
}

// ErrUnsaved is returned (wrapped) when a checkout would overwrite or
// delete workspace files whose content is not in the cache.
var ErrUnsaved = errors.New("workspace changes are not in the cache")

// Checkout makes the workspace copies of targets (all outputs when none)
// match their .dvc files from the cache, as `dvc checkout` does: missing
// and changed files are written, files a directory no longer holds are
// removed. It never destroys data the cache does not hold: a workspace
// file it would overwrite or remove must have its content in the cache,
// else Checkout changes nothing and fails with ErrUnsaved, unless force
// is set, in which case that content is first stored in the cache (and so
// can be found again by its md5).
func (r *Repo) Checkout(ctx context.Context, targets []string, force bool) (CheckoutResult, error) {
	outs, err := r.collect(ctx, targets)
	if err != nil {
		return CheckoutResult{}, err
	}
	return r.checkout(ctx, outs, force)
}

type fileWrite struct {
	abs  string
	oid  string
	exec bool
	mod  bool // replaces a file
}

type checkoutPlan struct {
	writes  []fileWrite
	deletes []string // files
	dirs    []string // directories to remove when they end up empty
	unsaved []fileItem
	missing []string // objects the writes need that the cache lacks
	same    int
	outDirs []string
}

func (r *Repo) checkout(ctx context.Context, outs []tracked, force bool) (CheckoutResult, error) {
	var res CheckoutResult
	cache := r.cache()
	plan := &checkoutPlan{}
	var problems []string
	for _, t := range outs {
		if !t.out.Cache || t.out.MD5 == "" {
			continue
		}
		if err := r.planOut(ctx, t, plan); err != nil {
			if errors.Is(err, os.ErrNotExist) && t.out.IsDir() {
				problems = append(problems, fmt.Sprintf("%s: the manifest %s is not in the cache: run `yolops data pull`", t.label(r), t.out.MD5))
				continue
			}
			return res, fmt.Errorf("%s: %w", t.label(r), err)
		}
	}
	r.saveState()
	if len(plan.unsaved) > 0 {
		if !force {
			var names []string
			for i, it := range plan.unsaved {
				if i == 10 {
					names = append(names, fmt.Sprintf("... and %d more", len(plan.unsaved)-10))
					break
				}
				names = append(names, r.rel(it.abs))
			}
			return res, fmt.Errorf("%w: checkout would overwrite or delete %d files:\n\t%s\nadd them first (yolops data add), or use --force to store them in the cache and go on",
				ErrUnsaved, len(plan.unsaved), strings.Join(names, "\n\t"))
		}
		if _, err := r.storeFiles(ctx, plan.unsaved, "Saving workspace changes"); err != nil {
			return res, err
		}
	}
	res.Unchanged = plan.same

	for _, p := range plan.deletes {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, err
		}
		res.Deleted++
	}
	// Deepest first, so that parents empty out after their children.
	sort.Slice(plan.dirs, func(i, j int) bool { return len(plan.dirs[i]) > len(plan.dirs[j]) })
	for _, d := range plan.dirs {
		os.Remove(d) // fails, harmlessly, when not empty
	}

	prog := r.progress()
	var total int64
	for _, w := range plan.writes {
		if n, err := statObject(cache, w.oid); err == nil {
			total += n
		}
	}
	prog.Start("Checking out", len(plan.writes), total)
	var added, modified atomic.Int64
	var mu sync.Mutex
	var corrupted []string
	err := forEach(ctx, len(plan.writes), r.hasher().jobs, func(ctx context.Context, i int) error {
		w := plan.writes[i]
		n, err := writeFromCache(ctx, cache, w)
		if errors.Is(err, ErrCorrupted) {
			cache.remove(w.oid)
			mu.Lock()
			corrupted = append(corrupted, fmt.Sprintf("%s (for %s)", w.oid, r.rel(w.abs)))
			mu.Unlock()
			return nil
		}
		if err != nil {
			return err
		}
		if w.mod {
			modified.Add(1)
		} else {
			added.Add(1)
		}
		prog.Add(1, n)
		return nil
	})
	prog.Done()
	res.Added, res.Modified = int(added.Load()), int(modified.Load())
	if err != nil {
		return res, err
	}
	for _, d := range plan.outDirs {
		// A directory output exists even when it holds no file.
		if err := os.MkdirAll(d, 0o777); err != nil {
			return res, err
		}
	}
	if len(plan.missing) > 0 {
		problems = append(problems, fmt.Sprintf("%d files are not in the cache (first %s): run `yolops data pull`", len(plan.missing), plan.missing[0]))
	}
	if len(corrupted) > 0 {
		sort.Strings(corrupted)
		problems = append(problems, fmt.Sprintf("%d cache objects were corrupted and have been removed (first %s): run `yolops data pull` to fetch them again", len(corrupted), corrupted[0]))
	}
	if len(problems) > 0 {
		return res, fmt.Errorf("checkout incomplete:\n\t%s", strings.Join(problems, "\n\t"))
	}
	return res, nil
}

// planOut adds what output t needs to plan.
func (r *Repo) planOut(ctx context.Context, t tracked, plan *checkoutPlan) error {
	cache := r.cache()
	want := map[string]string{} // workspace path -> md5
	exec := false
	if t.out.IsDir() {
		m, err := r.loadManifest(t.out.MD5)
		if err != nil {
			if errors.Is(err, ErrCorrupted) {
				cache.remove(t.out.MD5)
			}
			return err
		}
		for _, e := range m {
			want[outPath(t, e.RelPath)] = e.MD5
		}
		plan.outDirs = append(plan.outDirs, t.abs)
	} else {
		want[t.abs] = t.out.MD5
		exec = t.out.IsExec
	}

	// What is in the workspace now.
	var have []fileItem
	fi, err := os.Lstat(t.abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	case fi.IsDir():
		if have, err = walkTree(ctx, t.abs); err != nil {
			return err
		}
		plan.dirs = append(plan.dirs, t.abs)
	default:
		if fi, err = os.Stat(t.abs); err != nil {
			return err
		}
		have = []fileItem{{rel: filepath.Base(t.abs), abs: t.abs, st: stampOf(fi), exec: fi.Mode()&0o111 != 0}}
	}
	if err := r.hasher().hashItems(ctx, have, nil, ""); err != nil {
		return err
	}
	present := map[string]bool{}
	for _, it := range have {
		sum, wanted := want[it.abs]
		if wanted && sum == it.md5 {
			present[it.abs] = true
			plan.same++
			continue
		}
		if !cache.has(it.md5) {
			plan.unsaved = append(plan.unsaved, it)
		}
		if !wanted {
			plan.deletes = append(plan.deletes, it.abs)
			for d := filepath.Dir(it.abs); isWithin(t.abs, d); d = filepath.Dir(d) {
				plan.dirs = append(plan.dirs, d)
				if d == t.abs {
					break
				}
			}
		}
	}
	// Directories in the way of a file to write are emptied above (their
	// files are not wanted) and removed.
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if present[p] {
			continue
		}
		oid := want[p]
		if !cache.has(oid) {
			plan.missing = append(plan.missing, r.rel(p))
			continue
		}
		_, err := os.Lstat(p)
		plan.writes = append(plan.writes, fileWrite{abs: p, oid: oid, exec: exec, mod: err == nil})
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			plan.dirs = append(plan.dirs, p)
		}
	}
	return nil
}

// writeFromCache writes an object to its workspace path through a
// temporary file and a rename, checking the object's md5 as it copies.
func writeFromCache(ctx context.Context, cache objectCache, w fileWrite) (int64, error) {
	rc, _, err := cache.open(w.oid)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(w.abs), 0o777); err != nil {
		return 0, err
	}
	perm := os.FileMode(0o666)
	if w.exec {
		perm = 0o777
	}
	tmp := tempName(w.abs)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, ctxReader{ctx, rc})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, w.abs)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return n, nil
}
