package datastore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yolops/yolops/artifacts"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestInit(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir, InitOptions{}); err == nil || !strings.Contains(err.Error(), "--no-scm") {
		t.Fatalf("Init outside git: %v, want an error pointing to --no-scm", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".dvc")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a failed Init left .dvc behind")
	}
	r, err := Init(dir, InitOptions{NoSCM: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, ".dvc", "config")); got != "[core]\n    no_scm = True\n" {
		t.Errorf("config %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ".dvc", ".gitignore")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a no-scm repository got .dvc/.gitignore")
	}
	if r.usesGit() {
		t.Error("a no-scm repository uses git")
	}
	if _, err := Init(dir, InitOptions{NoSCM: true}); err == nil {
		t.Error("Init twice succeeded")
	}

	g := newRepo(t)
	if got := readFile(t, filepath.Join(g.Root, ".dvc", "config")); got != "" {
		t.Errorf("config %q, want empty as dvc init writes it", got)
	}
	if got := readFile(t, filepath.Join(g.Root, ".dvc", ".gitignore")); got != "/config.local\n/tmp\n/cache\n" {
		t.Errorf(".dvc/.gitignore %q", got)
	}
	if got := readFile(t, filepath.Join(g.Root, ".dvcignore")); !strings.HasPrefix(got, "# Add patterns of files dvc should ignore") {
		t.Errorf(".dvcignore %q", got)
	}
	sub := filepath.Join(g.Root, "a", "b")
	os.MkdirAll(sub, 0o777)
	if root, err := FindRoot(sub); err != nil || root != g.Root {
		t.Errorf("FindRoot(%s) = %q, %v; want %s", sub, root, err, g.Root)
	}
	if _, err := Find(t.TempDir()); !errors.Is(err, ErrNotRepo) || !strings.Contains(err.Error(), "yolops data init") {
		t.Errorf("Find outside a repository: %v", err)
	}
}

var personFiles = map[string]string{
	"images/a.jpg":   "jpeg a",
	"images/b.jpg":   "jpeg b",
	"labels/a.txt":   "0 0.5 0.5 0.1 0.1\n",
	"labels/b.txt":   "0 0.2 0.2 0.1 0.1\n",
	"labels/dup.txt": "0 0.5 0.5 0.1 0.1\n", // same content as a.txt: one object
	"empty.txt":      "",
}

// addPerson writes personFiles to data/person in r and adds it.
func addPerson(t *testing.T, r *Repo) string {
	t.Helper()
	dir := filepath.Join(r.Root, "data", "person")
	writeFiles(t, dir, personFiles)
	if _, err := r.Add(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestAddIdempotent(t *testing.T) {
	r := newRepo(t)
	dir := filepath.Join(r.Root, "data", "person")
	writeFiles(t, dir, personFiles)
	ctx := context.Background()
	res, err := r.Add(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// 5 distinct contents + the manifest.
	if !res.Written || res.Files != 6 || res.Stored != 6 {
		t.Errorf("first add: %+v", res)
	}
	want := Manifest{}
	for name, content := range personFiles {
		want = append(want, Entry{md5hex(content), name})
	}
	want.Sort()
	var size int
	for _, c := range personFiles {
		size += len(c)
	}
	wantDVC := "outs:\n- md5: " + want.Hash() + "\n  size: " + itoa(size) + "\n  nfiles: 6\n  hash: md5\n  path: person\n"
	if got := readFile(t, dir+".dvc"); got != wantDVC {
		t.Errorf(".dvc:\n%s\nwant\n%s", got, wantDVC)
	}
	if got := readFile(t, filepath.Join(r.Root, "data", ".gitignore")); got != "/person\n" {
		t.Errorf(".gitignore %q", got)
	}
	if h, err := Hash(ctx, dir); err != nil || h != want.Hash() {
		t.Errorf("Hash = %s, %v; want %s", h, err, want.Hash())
	}
	cacheFiles := countFiles(t, filepath.Join(r.Root, ".dvc", "cache"))

	res, err = r.Add(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written || res.Stored != 0 || res.GitIgnore != "" {
		t.Errorf("second add changed something: %+v", res)
	}
	if got := readFile(t, dir+".dvc"); got != wantDVC {
		t.Errorf(".dvc after the second add:\n%s", got)
	}
	if got := readFile(t, filepath.Join(r.Root, "data", ".gitignore")); got != "/person\n" {
		t.Errorf(".gitignore after the second add: %q", got)
	}
	if n := countFiles(t, filepath.Join(r.Root, ".dvc", "cache")); n != cacheFiles {
		t.Errorf("cache has %d files after the second add, %d before", n, cacheFiles)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func unixNano(n int64) time.Time { return time.Unix(0, n) }

func TestAddRefuses(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	dir := addPerson(t, r)
	cases := map[string]string{
		filepath.Join(dir, "images"):         "already tracks",
		r.Root:                               "root",
		filepath.Join(r.Root, ".dvc", "tmp"): "inside .dvc",
		filepath.Join(r.Root, "nope"):        "no such file",
		t.TempDir():                          "outside the repository",
	}
	os.MkdirAll(filepath.Join(r.Root, ".dvc", "tmp"), 0o777)
	for target, want := range cases {
		if _, err := r.Add(ctx, target); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Add(%s) = %v, want an error saying %q", target, err, want)
		}
	}
	// A .dvcignore inside the directory, as DVC refuses.
	bad := filepath.Join(r.Root, "bad")
	writeFiles(t, bad, map[string]string{"x": "x", ".dvcignore": "*.tmp\n"})
	if _, err := r.Add(ctx, bad); !errors.Is(err, ErrIgnoreInDir) {
		t.Errorf("Add with .dvcignore inside: %v", err)
	}
	// A broken .dvc file is reported, not overwritten.
	other := filepath.Join(r.Root, "other")
	writeFiles(t, other, map[string]string{"x": "x"})
	os.WriteFile(other+".dvc", []byte("outs: [oops\n"), 0o666)
	if _, err := r.Add(ctx, other); err == nil || !strings.Contains(err.Error(), "other.dvc") {
		t.Errorf("Add over a broken .dvc: %v", err)
	}
	if got := readFile(t, other+".dvc"); got != "outs: [oops\n" {
		t.Errorf("the broken .dvc was overwritten: %q", got)
	}
}

func TestAddFile(t *testing.T) {
	r := newRepo(t)
	p := filepath.Join(r.Root, "model.bin")
	writeFiles(t, r.Root, map[string]string{"model.bin": "weights"})
	os.Chmod(p, 0o755)
	if _, err := r.Add(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	want := "outs:\n- md5: " + md5hex("weights") + "\n  size: 7\n  isexec: true\n  hash: md5\n  path: model.bin\n"
	if got := readFile(t, p+".dvc"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := readFile(t, filepath.Join(r.Root, ".gitignore")); got != "/model.bin\n" {
		t.Errorf(".gitignore %q", got)
	}
}

func TestStatus(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	dir := addPerson(t, r)
	st, err := r.Status(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || !st[0].Clean() || st[0].Path != filepath.Join("data", "person") {
		t.Fatalf("status after add: %+v", st)
	}
	writeFiles(t, dir, map[string]string{"labels/a.txt": "0 0.9 0.9 0.1 0.1\n", "images/c.jpg": "jpeg c"})
	os.Remove(filepath.Join(dir, "images", "b.jpg"))
	st, err = r.Status(ctx, []string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{Deleted, "images/b.jpg"}, {New, "images/c.jpg"}, {Modified, "labels/a.txt"}}
	if !reflect.DeepEqual(st[0].Changes, want) {
		t.Errorf("changes %+v, want %+v", st[0].Changes, want)
	}
	if st[0].NotInCache != 0 {
		t.Errorf("NotInCache = %d", st[0].NotInCache)
	}
	// Adding records the new version: clean again.
	if _, err := r.Add(ctx, dir); err != nil {
		t.Fatal(err)
	}
	st, err = r.Status(ctx, []string{dir + ".dvc"}, nil)
	if err != nil || !st[0].Clean() {
		t.Errorf("status after re-add: %+v, %v", st, err)
	}
	// The directory gone: every file deleted.
	os.RemoveAll(dir)
	st, _ = r.Status(ctx, nil, nil)
	if !reflect.DeepEqual(st[0].Changes, []Change{{Deleted, ""}}) {
		t.Errorf("status with the directory gone: %+v", st[0].Changes)
	}
	if _, err := r.Status(ctx, []string{filepath.Join(r.Root, "untracked")}, nil); err == nil {
		t.Error("status of an untracked path succeeded")
	}
}

// countingStore counts the objects put into and got from a store.
type countingStore struct {
	artifacts.Store
	puts, gets atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	c.puts.Add(1)
	return c.Store.Put(ctx, key, r, size)
}

func (c *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, artifacts.Info, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

// clone makes a new repository from the files git would track (.dvc
// files, .gitignore files, .dvc/config; not the cache, .dvc/tmp or
// .dvc/config.local), as `git clone` would give them.
func clone(t *testing.T, r *Repo) *Repo {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(r.Root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r.Root, p)
		if d.IsDir() {
			if rel == filepath.Join(".dvc", "cache") || rel == filepath.Join(".dvc", "tmp") || isFile(p+".dvc") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o777)
		}
		if rel == filepath.Join(".dvc", "config.local") {
			return nil // .dvc/.gitignore keeps it out of git
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o666)
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPushPull(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	dir := addPerson(t, r)
	remoteDir := filepath.Join(t.TempDir(), "remote")
	if err := r.AddRemote("Store", remoteDir, true, false, false); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(r.Root, ".dvc", "config")); got != "[core]\n    remote = store\n['remote \"store\"']\n    url = "+remoteDir+"\n" {
		t.Errorf("config:\n%s", got)
	}
	local, err := artifacts.NewLocal(remoteDir)
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: local}
	opt := TransferOptions{Open: func(ctx context.Context, rc RemoteConfig) (artifacts.Store, error) {
		if rc.Name != "store" || rc.URL != remoteDir {
			t.Errorf("opened %+v", rc)
		}
		return store, nil
	}}

	st, err := r.Status(ctx, nil, &opt)
	if err != nil || st[0].ToPush != 6 || st[0].ToPull != 0 {
		t.Fatalf("status before push: %+v, %v", st, err)
	}
	res, err := r.Push(ctx, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Transferred != 6 || store.puts.Load() != 6 {
		t.Errorf("push: %+v, %d puts; want 6", res, store.puts.Load())
	}
	// DVC 3's remote layout, byte for byte.
	for name, content := range personFiles {
		sum := md5hex(content)
		got := readFile(t, filepath.Join(remoteDir, "files", "md5", sum[:2], sum[2:]))
		if got != content {
			t.Errorf("remote object of %s = %q", name, got)
		}
	}
	dvc, _ := ParseDVCFile("person.dvc", []byte(readFile(t, dir+".dvc")))
	manifestOID := dvc.Outs[0].MD5
	if _, err := os.Stat(filepath.Join(remoteDir, "files", "md5", manifestOID[:2], manifestOID[2:])); err != nil {
		t.Errorf("manifest not pushed: %v", err)
	}
	// Only what is missing moves.
	res, err = r.Push(ctx, nil, opt)
	if err != nil || res.Transferred != 0 || res.Present != 6 || store.puts.Load() != 6 {
		t.Errorf("second push: %+v, %v, %d puts", res, err, store.puts.Load())
	}
	st, _ = r.Status(ctx, nil, &opt)
	if !st[0].Clean() {
		t.Errorf("status after push: %+v", st[0])
	}

	c := clone(t, r)
	if got := c.DefaultRemote(); got != "store" {
		t.Errorf("clone's default remote %q", got)
	}
	st, err = c.Status(ctx, nil, &opt)
	if err != nil || st[0].ToPull != 6 || st[0].NotInCache != 6 || len(st[0].Changes) != 1 {
		t.Errorf("status of the clone: %+v, %v", st, err)
	}
	tr, cr, err := c.Pull(ctx, nil, opt, false)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Transferred != 6 || cr.Added != 6 {
		t.Errorf("pull: %+v %+v", tr, cr)
	}
	for name, content := range personFiles {
		if got := readFile(t, filepath.Join(c.Root, "data", "person", filepath.FromSlash(name))); got != content {
			t.Errorf("pulled %s = %q", name, got)
		}
	}
	st, _ = c.Status(ctx, nil, &opt)
	if !st[0].Clean() {
		t.Errorf("status after pull: %+v", st[0])
	}
	gets := store.gets.Load()
	tr, cr, err = c.Pull(ctx, nil, opt, false)
	if err != nil || tr.Transferred != 0 || cr.Added+cr.Modified+cr.Deleted != 0 || store.gets.Load() != gets {
		t.Errorf("second pull: %+v %+v %v, %d gets", tr, cr, err, store.gets.Load()-gets)
	}
}

func TestPushCorruptedCache(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	dir := addPerson(t, r)
	sum := md5hex("jpeg a")
	obj := filepath.Join(r.Root, ".dvc", "cache", "files", "md5", sum[:2], sum[2:])
	os.Chmod(obj, 0o644)
	os.WriteFile(obj, []byte("jpeg A"), 0o644) // same size, other bytes
	remoteDir := t.TempDir()
	local, _ := artifacts.NewLocal(remoteDir)
	_, err := r.Push(ctx, nil, TransferOptions{Store: local})
	if err == nil || !strings.Contains(err.Error(), "corrupted") {
		t.Fatalf("push of a corrupted cache: %v", err)
	}
	if _, err := os.Stat(filepath.Join(remoteDir, "files", "md5", sum[:2], sum[2:])); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the corrupted object reached the remote: %v", err)
	}
	if _, err := os.Stat(obj); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the corrupted object is still in the cache")
	}
	// Adding again restores it.
	if res, err := r.Add(ctx, dir); err != nil || res.Stored != 1 {
		t.Errorf("re-add: %+v, %v", res, err)
	}
	if got := readFile(t, obj); got != "jpeg a" {
		t.Errorf("restored object %q", got)
	}
}

func TestCheckoutCorruptedCache(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	dir := addPerson(t, r)
	sum := md5hex("jpeg b")
	obj := filepath.Join(r.Root, ".dvc", "cache", "files", "md5", sum[:2], sum[2:])
	os.Chmod(obj, 0o644)
	os.WriteFile(obj, []byte("jpeg"), 0o644) // truncated
	os.Remove(filepath.Join(dir, "images", "b.jpg"))
	_, err := r.Checkout(ctx, nil, false)
	if err == nil || !strings.Contains(err.Error(), "corrupted") {
		t.Fatalf("checkout from a corrupted cache: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "images", "b.jpg")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a corrupted object was checked out")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "images"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestPullCorruptedRemote(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	addPerson(t, r)
	remoteDir := t.TempDir()
	local, _ := artifacts.NewLocal(remoteDir)
	opt := TransferOptions{Store: local}
	if _, err := r.Push(ctx, nil, opt); err != nil {
		t.Fatal(err)
	}
	bsum := md5hex(personFiles["labels/b.txt"])
	os.WriteFile(filepath.Join(remoteDir, "files", "md5", bsum[:2], bsum[2:]), []byte("garbage\n"), 0o644)
	c := clone(t, r)
	_, _, err := c.Pull(ctx, nil, opt, false)
	if err == nil || !strings.Contains(err.Error(), "corrupted") {
		t.Fatalf("pull of a corrupted remote object: %v", err)
	}
	if c.cache().has(bsum) {
		t.Error("the corrupted object entered the cache")
	}
	if got := readFile(t, filepath.Join(c.Root, "data", "person", "labels", "a.txt")); got != personFiles["labels/a.txt"] {
		t.Errorf("the sound files were not checked out: %q", got)
	}
}

func TestCheckoutKeepsUnsavedWork(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	dir := addPerson(t, r)
	edited := filepath.Join(dir, "labels", "a.txt")
	extra := filepath.Join(dir, "notes.txt")
	writeFiles(t, dir, map[string]string{"labels/a.txt": "my unsaved edit\n", "notes.txt": "new file\n"})
	os.Remove(filepath.Join(dir, "images", "a.jpg"))

	_, err := r.Checkout(ctx, nil, false)
	if !errors.Is(err, ErrUnsaved) || !strings.Contains(err.Error(), "labels/a.txt") || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("checkout over unsaved work: %v", err)
	}
	if got := readFile(t, edited); got != "my unsaved edit\n" {
		t.Errorf("the edit was overwritten: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "images", "a.jpg")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused checkout still wrote files")
	}

	res, err := r.Checkout(ctx, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || res.Modified != 1 || res.Deleted != 1 {
		t.Errorf("forced checkout: %+v", res)
	}
	if got := readFile(t, edited); got != personFiles["labels/a.txt"] {
		t.Errorf("a.txt = %q", got)
	}
	if _, err := os.Stat(extra); !errors.Is(err, os.ErrNotExist) {
		t.Error("notes.txt survived the checkout")
	}
	// What was overwritten is in the cache, findable by its md5.
	for _, content := range []string{"my unsaved edit\n", "new file\n"} {
		if !r.cache().has(md5hex(content)) {
			t.Errorf("%q was not saved to the cache", content)
		}
	}
	st, _ := r.Status(ctx, nil, nil)
	if !st[0].Clean() {
		t.Errorf("status after checkout: %+v", st[0])
	}
}

func TestCheckoutSwitchesVersions(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	dir := addPerson(t, r)
	v1 := readFile(t, dir+".dvc")
	writeFiles(t, dir, map[string]string{"images/c.jpg": "jpeg c", "labels/a.txt": "v2\n"})
	os.RemoveAll(filepath.Join(dir, "images", "b.jpg"))
	if _, err := r.Add(ctx, dir); err != nil {
		t.Fatal(err)
	}
	// Back to v1 as `git checkout x.dvc && dvc checkout` does: every v2
	// file is in the cache, so nothing needs forcing.
	os.WriteFile(dir+".dvc", []byte(v1), 0o666)
	res, err := r.Checkout(ctx, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || res.Modified != 1 || res.Deleted != 1 {
		t.Errorf("checkout v1: %+v", res)
	}
	h, _ := Hash(ctx, dir)
	f, _ := ParseDVCFile("x", []byte(v1))
	if h != f.Outs[0].MD5 {
		t.Errorf("workspace hash %s after checkout, want %s", h, f.Outs[0].MD5)
	}
}

func TestAddKeepsHandEdits(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	dir := addPerson(t, r)
	orig := readFile(t, dir+".dvc")
	edited := "# person subset of COCO128\n" + strings.Replace(orig, "  path: person\n", "  path: person\n  desc: people only # kept\n", 1)
	os.WriteFile(dir+".dvc", []byte(edited), 0o666)
	writeFiles(t, dir, map[string]string{"images/z.jpg": "jpeg z"})
	if _, err := r.Add(ctx, dir); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, dir+".dvc")
	h, _ := Hash(ctx, dir)
	if !strings.HasPrefix(got, "# person subset of COCO128\n") || !strings.Contains(got, "  desc: people only # kept\n") ||
		!strings.Contains(got, "- md5: "+h+"\n") || !strings.Contains(got, "  nfiles: 7\n") {
		t.Errorf("re-added file:\n%s", got)
	}
}

func TestRemoteConfig(t *testing.T) {
	r := newRepo(t)
	t.Chdir(r.Root)
	if err := r.AddRemote("up", "../store", false, false, false); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRemote("up", "/elsewhere", false, false, false); err == nil {
		t.Error("adding a remote twice succeeded")
	}
	if err := r.AddRemote("minio", "s3://bucket/data", true, false, false); err != nil {
		t.Fatal(err)
	}
	if err := r.ModifyRemote("minio", "endpointurl", "http://127.0.0.1:9000", false, false); err != nil {
		t.Fatal(err)
	}
	if err := r.ModifyRemote("minio", "secret_access_key", "s3cr3t", false, true); err != nil {
		t.Fatal(err)
	}
	want := "[core]\n    remote = minio\n['remote \"up\"']\n    url = ../../store\n['remote \"minio\"']\n    url = s3://bucket/data\n    endpointurl = http://127.0.0.1:9000\n"
	if got := readFile(t, filepath.Join(r.Root, ".dvc", "config")); got != want {
		t.Errorf("config:\n%s\nwant\n%s", got, want)
	}
	if got := readFile(t, filepath.Join(r.Root, ".dvc", "config.local")); got != "['remote \"minio\"']\n    secret_access_key = s3cr3t\n" {
		t.Errorf("config.local %q", got)
	}
	re, err := Open(r.Root)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := re.Remote("")
	if err != nil {
		t.Fatal(err)
	}
	if rc.Name != "minio" || rc.URL != "s3://bucket/data" || rc.Options["endpointurl"] != "http://127.0.0.1:9000" || rc.Options["secret_access_key"] != "s3cr3t" {
		t.Errorf("remote %+v", rc)
	}
	up, _ := re.Remote("up")
	if want := filepath.Join(filepath.Dir(r.Root), "store"); up.URL != want {
		t.Errorf("up's url %q, want %q", up.URL, want)
	}
	if _, err := re.Remote("nope"); err == nil || !strings.Contains(err.Error(), "minio") {
		t.Errorf("unknown remote: %v", err)
	}
}

func TestHashState(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	dir := filepath.Join(r.Root, "d")
	writeFiles(t, dir, map[string]string{"f": "aaaa", "g": "gggg"})
	h1, err := Hash(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.Root, ".dvc", "tmp", stateFileName)); err != nil {
		t.Fatalf("no state written: %v", err)
	}
	// Same size, same mtime, same inode: the state answers without
	// reading, which shows it is used (and why DVC keys on all three).
	p := filepath.Join(dir, "f")
	fi, _ := os.Stat(p)
	f, _ := os.OpenFile(p, os.O_WRONLY, 0)
	f.WriteString("bbbb")
	f.Close()
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if h2, _ := Hash(ctx, dir); h2 != h1 {
		t.Errorf("the state was not used: %s != %s", h2, h1)
	}
	// A new mtime invalidates the entry.
	writeFiles(t, dir, map[string]string{"f": "bbbb"})
	h3, _ := Hash(ctx, dir)
	want := Manifest{{md5hex("bbbb"), "f"}, {md5hex("gggg"), "g"}}.Hash()
	if h3 != want {
		t.Errorf("after touching: %s, want %s", h3, want)
	}
	// Outside a repository there is no state; the hash is the same.
	other := t.TempDir()
	writeFiles(t, other, map[string]string{"f": "bbbb", "g": "gggg"})
	if h, _ := Hash(ctx, other); h != want {
		t.Errorf("outside a repository: %s, want %s", h, want)
	}
	// A single file hashes to its md5.
	if h, _ := Hash(ctx, filepath.Join(other, "g")); h != md5hex("gggg") {
		t.Errorf("Hash of a file = %s", h)
	}
}

func TestStateRacyAndCompaction(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state")
	s := openState(file)
	now := int64(1e18)
	fresh := stamp{Inode: 1, MtimeNS: now - 1e9, Size: 3}
	s.record("/a", fresh, md5hex("abc"), unixNano(now))
	if _, ok := s.lookup("/a", fresh); ok {
		t.Error("a file modified a second ago was remembered")
	}
	old := stamp{Inode: 1, MtimeNS: now - 10e9, Size: 3}
	for i := range 6000 {
		s.record("/a", stamp{Inode: 1, MtimeNS: old.MtimeNS - int64(i), Size: 3}, md5hex("abc"), unixNano(now))
		if i%1000 == 0 {
			if err := s.save(); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.record("/b", old, md5hex("b"), unixNano(now))
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	t2 := openState(file)
	if sum, ok := t2.lookup("/b", old); !ok || sum != md5hex("b") {
		t.Errorf("reloaded /b: %q %v", sum, ok)
	}
	if t2.fileLines > 4200 {
		t.Errorf("state file has %d lines for 2 entries: never compacted", t2.fileLines)
	}
	// A torn last line is skipped.
	f, _ := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("0123")
	f.Close()
	if sum, ok := openState(file).lookup("/b", old); !ok || sum != md5hex("b") {
		t.Error("a torn line broke the state")
	}
}
