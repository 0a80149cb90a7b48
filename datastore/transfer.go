package datastore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/yolops/yolops/artifacts"
)

// TransferOptions says which remote Status, Push, Fetch and Pull use.
type TransferOptions struct {
	// Store, when set, is the remote for every output.
	Store artifacts.Store
	// Remote names the configured remote to use. When "", an output goes
	// to the remote its .dvc file names (remote: ...), else to the
	// default remote (core.remote).
	Remote string
	// Open opens a configured remote; it is needed when Store is nil.
	Open func(ctx context.Context, rc RemoteConfig) (artifacts.Store, error)
}

// TransferResult counts what a transfer did.
type TransferResult struct {
	// Transferred objects and their bytes; Present objects were there
	// already.
	Transferred int
	Bytes       int64
	Present     int
}

var errNoObject = errors.New("object not found")

// remoteSet holds the stores the outputs of one operation go to.
type remoteSet struct {
	fixed  artifacts.Store
	byName map[string]artifacts.Store
	name   func(t tracked) string
}

func (s *remoteSet) storeFor(t tracked) artifacts.Store {
	if s.fixed != nil {
		return s.fixed
	}
	return s.byName[s.name(t)]
}

func (s *remoteSet) label(t tracked) string {
	if s.fixed != nil {
		return s.fixed.URI()
	}
	return s.name(t)
}

// openRemotes opens the remotes the outputs need.
func (r *Repo) openRemotes(ctx context.Context, outs []tracked, opt *TransferOptions) (*remoteSet, error) {
	if opt.Store != nil {
		return &remoteSet{fixed: opt.Store}, nil
	}
	if opt.Open == nil {
		return nil, errors.New("no way to open a remote: TransferOptions needs Store or Open")
	}
	def := r.DefaultRemote()
	set := &remoteSet{byName: map[string]artifacts.Store{}, name: func(t tracked) string {
		switch {
		case opt.Remote != "":
			return opt.Remote
		case t.out.Remote != "":
			return t.out.Remote
		}
		return def
	}}
	for _, t := range outs {
		name := set.name(t)
		if _, ok := set.byName[name]; ok {
			continue
		}
		rc, err := r.Remote(name)
		if err != nil {
			return nil, err
		}
		store, err := opt.Open(ctx, rc)
		if err != nil {
			return nil, fmt.Errorf("remote %q (%s): %w", rc.Name, rc.URL, err)
		}
		set.byName[name] = store
	}
	return set, nil
}

// remoteHas reports which objects the store holds: by one recursive
// listing for many objects (one request per thousand keys on S3), else by
// one Stat each.
func remoteHas(ctx context.Context, store artifacts.Store, oids []string, jobs int) (map[string]bool, error) {
	has := make(map[string]bool, len(oids))
	if len(oids) > 256 {
		infos, err := store.List(ctx, "files/md5", true)
		if err != nil && !errors.Is(err, artifacts.ErrNotExist) {
			return nil, fmt.Errorf("listing %s: %w", store.URI(), err)
		}
		keys := make(map[string]bool, len(infos))
		for _, in := range infos {
			if !in.Dir {
				keys[in.Key] = true
			}
		}
		for _, oid := range oids {
			has[oid] = keys[objectKey(oid)]
		}
		return has, nil
	}
	var mu sync.Mutex
	err := forEach(ctx, len(oids), jobs, func(ctx context.Context, i int) error {
		_, err := store.Stat(ctx, objectKey(oids[i]))
		switch {
		case err == nil:
			mu.Lock()
			has[oids[i]] = true
			mu.Unlock()
		case errors.Is(err, artifacts.ErrNotExist):
		default:
			return fmt.Errorf("%s: %w", store.URI(), err)
		}
		return nil
	})
	return has, err
}

// fetchManifest reads and checks a manifest from a remote without storing
// it; it returns the manifest and its bytes as stored.
func fetchManifest(ctx context.Context, store artifacts.Store, oid string) (Manifest, []byte, error) {
	rc, _, err := store.Get(ctx, objectKey(oid))
	if errors.Is(err, artifacts.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s on %s: %w", oid, store.URI(), errNoObject)
	}
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, nil, err
	}
	sum := md5.Sum(data)
	if hex.EncodeToString(sum[:]) != expectedMD5(oid) {
		return nil, nil, fmt.Errorf("manifest %s on %s: %w", oid, store.URI(), ErrCorrupted)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, nil, fmt.Errorf("manifest %s on %s: %w", oid, store.URI(), err)
	}
	return m, data, nil
}

// Push uploads the cached objects of targets' recorded versions (all
// outputs when none) that the remote lacks, files before the directory
// manifests that list them. Every object is checked against its md5 as it
// is read; a corrupted one is removed from the cache and reported.
func (r *Repo) Push(ctx context.Context, targets []string, opt TransferOptions) (TransferResult, error) {
	var res TransferResult
	outs, err := r.collect(ctx, targets)
	if err != nil {
		return res, err
	}
	remotes, err := r.openRemotes(ctx, outs, &opt)
	if err != nil {
		return res, err
	}
	cache := r.cache()
	type group struct {
		store artifacts.Store
		label string
		oids  []string
		seen  map[string]bool
	}
	groups := map[artifacts.Store]*group{}
	var order []*group
	var problems []string
	for _, t := range outs {
		if !t.out.Cache || !t.out.Push || t.out.MD5 == "" {
			continue
		}
		var m Manifest
		if t.out.IsDir() {
			if m, err = r.loadManifest(t.out.MD5); err != nil {
				if errors.Is(err, ErrCorrupted) {
					cache.remove(t.out.MD5)
				}
				problems = append(problems, fmt.Sprintf("%s: manifest not usable: %v", t.label(r), err))
				continue
			}
		}
		store := remotes.storeFor(t)
		g := groups[store]
		if g == nil {
			g = &group{store: store, label: remotes.label(t), seen: map[string]bool{}}
			groups[store] = g
			order = append(order, g)
		}
		missing := 0
		for _, oid := range objectsOf(t.out, m) {
			if g.seen[oid] {
				continue
			}
			g.seen[oid] = true
			if !cache.has(oid) {
				missing++
				continue
			}
			g.oids = append(g.oids, oid)
		}
		if missing > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d objects are not in the cache", t.label(r), missing))
		}
	}
	for _, g := range order {
		has, err := remoteHas(ctx, g.store, g.oids, r.transferJobs())
		if err != nil {
			return res, err
		}
		var files, dirs []string
		var total int64
		for _, oid := range g.oids {
			if has[oid] {
				res.Present++
				continue
			}
			if strings.HasSuffix(oid, DirSuffix) {
				dirs = append(dirs, oid)
			} else {
				files = append(files, oid)
			}
			if fi, err := statObject(cache, oid); err == nil {
				total += fi
			}
		}
		prog := r.progress()
		prog.Start("Pushing to "+g.label, len(files)+len(dirs), total)
		var sent, sentBytes atomic.Int64
		var corrupted []string
		var mu sync.Mutex
		upload := func(ctx context.Context, oid string) error {
			rc, size, err := cache.open(oid)
			if err != nil {
				return err
			}
			err = g.store.Put(ctx, objectKey(oid), rc, size)
			rc.Close()
			if errors.Is(err, ErrCorrupted) {
				cache.remove(oid)
				mu.Lock()
				corrupted = append(corrupted, oid)
				mu.Unlock()
				return nil
			}
			if err != nil {
				return fmt.Errorf("pushing %s to %s: %w", oid, g.label, err)
			}
			sent.Add(1)
			sentBytes.Add(size)
			prog.Add(1, size)
			return nil
		}
		for _, batch := range [][]string{files, dirs} {
			err = forEach(ctx, len(batch), r.transferJobs(), func(ctx context.Context, i int) error {
				return upload(ctx, batch[i])
			})
			if err != nil {
				break
			}
		}
		prog.Done()
		res.Transferred += int(sent.Load())
		res.Bytes += sentBytes.Load()
		if err != nil {
			return res, err
		}
		if len(corrupted) > 0 {
			problems = append(problems, fmt.Sprintf("%d corrupted objects were found in the cache and removed, not pushed (first %s): add the data again or pull it", len(corrupted), corrupted[0]))
		}
	}
	if len(problems) > 0 {
		return res, fmt.Errorf("push incomplete:\n\t%s", strings.Join(problems, "\n\t"))
	}
	return res, nil
}

func statObject(c objectCache, oid string) (int64, error) {
	fi, err := os.Stat(c.path(oid))
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Fetch downloads into the cache the objects of targets' recorded
// versions (all outputs when none) that it lacks, checking each against
// its md5 before it enters the cache.
func (r *Repo) Fetch(ctx context.Context, targets []string, opt TransferOptions) (TransferResult, error) {
	var res TransferResult
	outs, err := r.collect(ctx, targets)
	if err != nil {
		return res, err
	}
	remotes, err := r.openRemotes(ctx, outs, &opt)
	if err != nil {
		return res, err
	}
	return r.fetch(ctx, outs, remotes)
}

func (r *Repo) fetch(ctx context.Context, outs []tracked, remotes *remoteSet) (TransferResult, error) {
	var res TransferResult
	var err error
	cache := r.cache()
	type want struct {
		oid   string
		store artifacts.Store
		label string
	}
	var wants []want
	seen := map[string]bool{}
	var problems []string
	for _, t := range outs {
		if !t.out.Cache || t.out.MD5 == "" {
			continue
		}
		store := remotes.storeFor(t)
		var m Manifest
		if t.out.IsDir() {
			m, err = r.loadManifest(t.out.MD5)
			if errors.Is(err, ErrCorrupted) {
				cache.remove(t.out.MD5)
			}
			if err != nil {
				var data []byte
				m, data, err = fetchManifest(ctx, store, t.out.MD5)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %v", t.label(r), err))
					continue
				}
				if _, err := cache.put(ctx, t.out.MD5, bytes.NewReader(data)); err != nil {
					return res, err
				}
				res.Transferred++
				res.Bytes += int64(len(data))
			}
		}
		for _, oid := range objectsOf(t.out, m) {
			if seen[oid] {
				continue
			}
			seen[oid] = true
			if cache.has(oid) {
				res.Present++
				continue
			}
			wants = append(wants, want{oid, store, remotes.label(t)})
		}
	}
	prog := r.progress()
	prog.Start("Fetching", len(wants), 0)
	var mu sync.Mutex
	var lost, corrupted []string
	var got, gotBytes atomic.Int64
	err = forEach(ctx, len(wants), r.transferJobs(), func(ctx context.Context, i int) error {
		w := wants[i]
		rc, info, err := w.store.Get(ctx, objectKey(w.oid))
		if errors.Is(err, artifacts.ErrNotExist) {
			mu.Lock()
			lost = append(lost, w.oid)
			mu.Unlock()
			return nil
		}
		if err != nil {
			return fmt.Errorf("fetching %s from %s: %w", w.oid, w.label, err)
		}
		_, err = cache.put(ctx, w.oid, rc)
		rc.Close()
		if errors.Is(err, ErrCorrupted) {
			mu.Lock()
			corrupted = append(corrupted, w.oid)
			mu.Unlock()
			return nil
		}
		if err != nil {
			return fmt.Errorf("fetching %s from %s: %w", w.oid, w.label, err)
		}
		got.Add(1)
		gotBytes.Add(info.Size)
		prog.Add(1, info.Size)
		return nil
	})
	prog.Done()
	res.Transferred += int(got.Load())
	res.Bytes += gotBytes.Load()
	if err != nil {
		return res, err
	}
	if len(lost) > 0 {
		problems = append(problems, fmt.Sprintf("%d objects are not on the remote (first %s): push them from a cache that has them", len(lost), lost[0]))
	}
	if len(corrupted) > 0 {
		problems = append(problems, fmt.Sprintf("%d objects on the remote are corrupted and were not stored (first %s)", len(corrupted), corrupted[0]))
	}
	if len(problems) > 0 {
		return res, fmt.Errorf("fetch incomplete:\n\t%s", strings.Join(problems, "\n\t"))
	}
	return res, nil
}

// Pull fetches targets' objects and checks them out, as `dvc pull` does.
func (r *Repo) Pull(ctx context.Context, targets []string, opt TransferOptions, force bool) (TransferResult, CheckoutResult, error) {
	outs, err := r.collect(ctx, targets)
	if err != nil {
		return TransferResult{}, CheckoutResult{}, err
	}
	remotes, err := r.openRemotes(ctx, outs, &opt)
	if err != nil {
		return TransferResult{}, CheckoutResult{}, err
	}
	tr, ferr := r.fetch(ctx, outs, remotes)
	if ctx.Err() != nil {
		return tr, CheckoutResult{}, ctx.Err()
	}
	cr, cerr := r.checkout(ctx, outs, force)
	return tr, cr, errors.Join(ferr, cerr)
}
