// Package datastore versions data the way DVC 3 does, on disk formats
// included, so that yolops and dvc can work on the same repository:
// `.dvc` files, the content-addressed cache in .dvc/cache/files/md5, the
// `.dir` manifests of directories, .dvc/config with its remotes, and the
// same layout on a remote, so `dvc pull` reads what yolops pushed and the
// other way round.
//
// A directory's version is the md5 of its manifest, a JSON list of
// {"md5", "relpath"} for each file (see Manifest); Hash computes it
// without writing anything.
package datastore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// DVCDir is the name of the directory that marks a repository's root.
const DVCDir = ".dvc"

// ErrNotRepo is returned when no parent directory holds a .dvc directory.
var ErrNotRepo = errors.New("not inside a DVC repository")

// Repo is a DVC repository: the directory holding .dvc/, its
// configuration and its cache.
type Repo struct {
	// Root is the absolute path of the directory holding .dvc/.
	Root string
	// Progress, when set, receives the progress of long operations.
	Progress Progress
	// Jobs is how many files are hashed or transferred at once; 0 means
	// a default (the CPU count for hashing, 4 per CPU for transfers, as
	// DVC does).
	Jobs int

	config   *Config // .dvc/config
	local    *Config // .dvc/config.local
	cacheDir string  // objects live in cacheDir/files/md5
	state    *hashState
}

// FindRoot returns the nearest directory at or above dir that holds a
// .dvc directory, as DVC's Repo.find_root does.
func FindRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; {
		if fi, err := os.Stat(filepath.Join(d, DVCDir)); err == nil && fi.IsDir() {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%w (checked %s and its parents): run `yolops data init` in the project's root first", ErrNotRepo, abs)
		}
		d = parent
	}
}

// Find opens the repository that holds dir.
func Find(dir string) (*Repo, error) {
	root, err := FindRoot(dir)
	if err != nil {
		return nil, err
	}
	return Open(root)
}

// Open opens the repository whose root (the directory holding .dvc/) is
// root.
func Open(root string) (*Repo, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	r := &Repo{Root: abs}
	dvcDir := filepath.Join(abs, DVCDir)
	if fi, err := os.Stat(dvcDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s: %w: no %s directory; run `yolops data init` first", abs, ErrNotRepo, DVCDir)
	}
	if r.config, err = readConfig(filepath.Join(dvcDir, "config")); err != nil {
		return nil, err
	}
	if r.local, err = readConfig(filepath.Join(dvcDir, "config.local")); err != nil {
		return nil, err
	}
	r.cacheDir = filepath.Join(dvcDir, "cache")
	if d, ok := r.get("cache", "dir"); ok {
		r.cacheDir = resolveRemoteURL(dvcDir, d)
		if hasScheme(r.cacheDir) {
			return nil, fmt.Errorf("%s: cache dir %q is not a local directory, which yolops needs", filepath.Join(dvcDir, "config"), d)
		}
	}
	r.state = openState(filepath.Join(dvcDir, "tmp", stateFileName))
	return r, nil
}

func readConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, data)
}

// get reads key of section, config.local winning over config.
func (r *Repo) get(section, key string) (string, bool) {
	if v, ok := r.local.Get(section, key); ok {
		return v, true
	}
	return r.config.Get(section, key)
}

// InitOptions are the options of Init, as those of `dvc init`.
type InitOptions struct {
	// NoSCM makes a repository outside git: no .gitignore files are
	// written, and core.no_scm is set.
	NoSCM bool
}

// Init makes dir the root of a new repository, as `dvc init` does: it
// writes .dvc/config (empty, or with core.no_scm), .dvc/.gitignore and
// .dvcignore. Like DVC it wants dir to be the root of a git work tree
// unless NoSCM is set, and it refuses a directory that already has .dvc/.
func Init(dir string, opt InitOptions) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	dvcDir := filepath.Join(abs, DVCDir)
	if _, err := os.Stat(dvcDir); err == nil {
		return nil, fmt.Errorf("'%s' exists: %s is already a DVC repository", dvcDir, abs)
	}
	if !opt.NoSCM {
		if _, err := os.Stat(filepath.Join(abs, ".git")); err != nil {
			return nil, fmt.Errorf("%s is not the root of a git repository: run `git init` first, or use --no-scm to version data without git", abs)
		}
	}
	if err := os.MkdirAll(dvcDir, 0o777); err != nil {
		return nil, err
	}
	cfg := &Config{}
	if opt.NoSCM {
		cfg.Set("core", "no_scm", "True")
	}
	data, err := cfg.Bytes()
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dvcDir, "config"), data, 0o666); err != nil {
		return nil, err
	}
	if !opt.NoSCM {
		// What DVC's Repo._ignore puts there: config.local, tmp, cache.
		if err := writeFileAtomic(filepath.Join(dvcDir, ".gitignore"), []byte("/config.local\n/tmp\n/cache\n"), 0o666); err != nil {
			return nil, err
		}
	}
	ignore := filepath.Join(abs, ".dvcignore")
	if _, err := os.Stat(ignore); errors.Is(err, os.ErrNotExist) {
		text := "# Add patterns of files dvc should ignore, which could improve\n" +
			"# the performance. Learn more at\n" +
			"# https://dvc.org/doc/user-guide/dvcignore\n"
		if err := writeFileAtomic(ignore, []byte(text), 0o666); err != nil {
			return nil, err
		}
	}
	return Open(abs)
}

// usesGit reports whether DVC would manage .gitignore files here: the
// repository is not marked no_scm and its root is a git work tree.
func (r *Repo) usesGit() bool {
	if v, ok := r.get("core", "no_scm"); ok && isTrue(v) {
		return false
	}
	_, err := os.Stat(filepath.Join(r.Root, ".git"))
	return err == nil
}

// isTrue reads a boolean as DVC's config schema does.
func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}

// saveState writes the new hashes to the state. It only saves time, so
// failing to (a read-only checkout) fails nothing.
func (r *Repo) saveState() { _ = r.state.save() }

func (r *Repo) cache() objectCache {
	return objectCache{dir: filepath.Join(r.cacheDir, "files", "md5")}
}

func (r *Repo) hasher() *hasher {
	jobs := r.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	return &hasher{state: r.state, jobs: jobs}
}

func (r *Repo) transferJobs() int {
	if r.Jobs > 0 {
		return r.Jobs
	}
	return 4 * runtime.GOMAXPROCS(0)
}

func (r *Repo) progress() Progress {
	if r.Progress == nil {
		return noProgress{}
	}
	return r.Progress
}

// rel returns abs relative to the repository root, for messages.
func (r *Repo) rel(abs string) string {
	if rel, err := filepath.Rel(r.Root, abs); err == nil {
		return rel
	}
	return abs
}

// gitIgnore adds "/name" to the .gitignore beside path, as DVC (scmrepo's
// Git.ignore) does, unless that exact line is already there. It returns
// the .gitignore's path, or "" when nothing was needed.
func (r *Repo) gitIgnore(path string) (string, error) {
	if !r.usesGit() {
		return "", nil
	}
	dir := filepath.Dir(path)
	entry := "/" + gitEscape(filepath.Base(path))
	gi := filepath.Join(dir, ".gitignore")
	data, err := os.ReadFile(gi)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if line == entry+"\n" {
			return "", nil
		}
	}
	prefix := ""
	if len(data) > 0 && data[len(data)-1] != '\n' {
		prefix = "\n"
	}
	out := append(data, []byte(prefix+entry+"\n")...)
	if err := writeFileAtomic(gi, out, 0o666); err != nil {
		return "", err
	}
	return gi, nil
}

// gitEscape escapes what gitignore patterns treat specially, as pathspec's
// GitWildMatchPattern.escape does.
func gitEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\[]!*#?`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
