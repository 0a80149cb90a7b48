package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/yolops/yolops/datastore"
)

// The data versioning commands mirror DVC's (init, add, status, push,
// pull, fetch, checkout, remote) and read and write the same files, so a
// repository can be worked on with either tool.

// versionFlags are the flags the repository commands share.
type versionFlags struct {
	quiet bool
	jobs  int
}

func (v *versionFlags) register(cmd *cobra.Command, transfers bool) {
	cmd.Flags().BoolVarP(&v.quiet, "quiet", "q", false, "print no progress")
	help := "files hashed at once (default: the CPU count)"
	if transfers {
		help = "files hashed or transferred at once (default: 4 per CPU for transfers, as DVC)"
	}
	cmd.Flags().VarP(checkedInt{&v.jobs, func(n int) error {
		if n < 0 {
			return errors.New("must be 0 (the default) or more")
		}
		return nil
	}}, "jobs", "j", help)
}

// openRepo finds the repository holding the working directory.
func (v *versionFlags) openRepo(cmd *cobra.Command) (*datastore.Repo, error) {
	r, err := datastore.Find(".")
	if err != nil {
		return nil, err
	}
	r.Jobs = v.jobs
	if !v.quiet {
		r.Progress = newProgressPrinter(cmd.ErrOrStderr())
	}
	return r, nil
}

func newDataInitCmd() *cobra.Command {
	var noSCM bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Make DIR (default .) a data repository, as `dvc init` does",
		Long: `Make DIR (default the current directory) the root of a data repository, as
'dvc init' does: .dvc/config, .dvc/.gitignore and .dvcignore. DIR must be
the root of a git work tree (run 'git init' first) unless --no-scm is
given, in which case no .gitignore files are ever written.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			r, err := datastore.Init(dir, datastore.InitOptions{NoSCM: noSCM})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Initialized a DVC repository in %s\n", r.Root)
			if !noSCM {
				fmt.Fprintf(cmd.OutOrStdout(), "You can now commit the changes to git:\n\n\tgit add .dvc .dvcignore\n")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noSCM, "no-scm", false, "version data without git")
	return cmd
}

func newDataAddCmd() *cobra.Command {
	var (
		v      versionFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "add TARGET...",
		Short: "Track data directories or files, as `dvc add` does",
		Long: `Track each TARGET (a directory, or a file) as 'dvc add' does: its files go
into the cache (.dvc/cache/files/md5/xx/..., read-only) under their md5,
a directory's manifest too, TARGET.dvc records the version (the md5 of the
manifest, followed by .dir), the size and the file count, and the
.gitignore beside TARGET gets "/TARGET". Files already in the cache are
not copied again; adding unchanged data changes nothing.

The repository is the nearest directory at or above the current one that
holds .dvc/ ('yolops data init' makes one).`,
		Example: `  yolops data prepare --classes person --out data/person
  yolops data add data/person
  git add data/person.dvc data/.gitignore && git commit -m "person data v1"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := v.openRepo(cmd)
			if err != nil {
				return err
			}
			var results []*datastore.AddResult
			var gitFiles []string
			out := cmd.OutOrStdout()
			for _, target := range args {
				res, err := r.Add(cmd.Context(), target)
				if err != nil {
					return err
				}
				results = append(results, res)
				if res.Written {
					gitFiles = append(gitFiles, relToWD(res.DVCFile))
				}
				if res.GitIgnore != "" {
					gitFiles = append(gitFiles, relToWD(res.GitIgnore))
				}
				if asJSON {
					continue
				}
				what := fmt.Sprintf("%d files, %s", res.Files, formatBytes(res.Out.Size))
				if !res.Out.IsDir() {
					what = formatBytes(res.Out.Size)
				}
				state := "unchanged"
				if res.Written {
					state = "written"
				}
				fmt.Fprintf(out, "%s (%s): %s\n\t%s %s; %d new objects in the cache\n",
					target, what, res.Out.MD5, relToWD(res.DVCFile), state, res.Stored)
			}
			if asJSON {
				return writeJSON(out, results)
			}
			if len(gitFiles) > 0 {
				fmt.Fprintf(out, "\nTo track the changes with git, run:\n\n\tgit add %s\n", strings.Join(quoteArgs(gitFiles), " "))
			}
			return nil
		},
	}
	v.register(cmd, false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

func newDataHashCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hash PATH...",
		Short: "Print the content hash (dataset version) of directories or files",
		Long: `Print the hash DVC 3 gives each PATH, without adding anything: for a
directory the md5 of its manifest followed by .dir (the md5 in its .dvc
file once added), for a file the md5 of its bytes. Equal content gives the
same hash anywhere, so it identifies a dataset version. Inside a
repository, unchanged files are not read again.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, p := range args {
				h, err := datastore.Hash(cmd.Context(), p)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %s\n", h, p)
			}
			return nil
		},
	}
	return cmd
}

// remoteFlags select the remote of a transfer.
type remoteFlags struct {
	remote string
}

func (f *remoteFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.remote, "remote", "r", "", "the remote to use (default: each .dvc file's remote, else core.remote)")
}

func (f *remoteFlags) options() datastore.TransferOptions {
	return datastore.TransferOptions{Remote: f.remote, Open: datastore.OpenRemote}
}

func newDataStatusCmd() *cobra.Command {
	var (
		v      versionFlags
		rf     remoteFlags
		cloud  bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status [TARGET...]",
		Short: "Show what differs between the workspace, the .dvc files, the cache and a remote",
		Long: `Compare each tracked output (TARGET: a .dvc file or the path it tracks;
default all) with its .dvc file, file by file: modified, new and deleted
files, and files of the recorded version missing from the cache. With
--cloud (or --remote), also count the objects to push and to pull.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := v.openRepo(cmd)
			if err != nil {
				return err
			}
			var opt *datastore.TransferOptions
			if cloud || rf.remote != "" {
				o := rf.options()
				opt = &o
			}
			st, err := r.Status(cmd.Context(), args, opt)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), st)
			}
			writeStatus(cmd.OutOrStdout(), st, opt != nil)
			return nil
		},
	}
	v.register(cmd, true)
	rf.register(cmd)
	cmd.Flags().BoolVarP(&cloud, "cloud", "c", false, "compare the cache with the remote too")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

// maxChangesShown bounds the files listed per output; --json lists all.
const maxChangesShown = 50

func writeStatus(w io.Writer, st []datastore.OutStatus, withRemote bool) {
	clean := true
	for _, s := range st {
		if s.Clean() {
			continue
		}
		clean = false
		fmt.Fprintf(w, "%s (%s):\n", s.DVCFile, s.Path)
		for i, c := range s.Changes {
			if i == maxChangesShown {
				fmt.Fprintf(w, "\t... and %d more changes (--json lists them all)\n", len(s.Changes)-i)
				break
			}
			name := c.Path
			switch {
			case name != "":
			case c.Kind == datastore.Deleted:
				name = s.Path + " (not in the workspace: yolops data checkout, or pull)"
			case s.Out.IsDir():
				name = s.Path + " (its manifest is not in the cache: pull for the list of files)"
			default:
				name = s.Path
			}
			fmt.Fprintf(w, "\t%-9s %s\n", string(c.Kind)+":", name)
		}
		if s.ManifestMissing {
			fmt.Fprintf(w, "\tthe manifest %s is not in the cache%s\n", s.Out.MD5, map[bool]string{true: " nor on the remote", false: ""}[withRemote])
		}
		if s.NotInCache > 0 {
			fmt.Fprintf(w, "\t%d objects of the recorded version are not in the cache (yolops data pull)\n", s.NotInCache)
		}
		if s.ToPush > 0 {
			fmt.Fprintf(w, "\t%d objects to push\n", s.ToPush)
		}
		if s.ToPull > 0 {
			fmt.Fprintf(w, "\t%d objects to pull\n", s.ToPull)
		}
		if s.Lost > 0 {
			fmt.Fprintf(w, "\t%d objects are in neither the cache nor the remote\n", s.Lost)
		}
	}
	switch {
	case len(st) == 0:
		fmt.Fprintln(w, "No tracked data (yolops data add DIR).")
	case clean && withRemote:
		fmt.Fprintln(w, "Data is up to date, and the cache and the remote are in sync.")
	case clean:
		fmt.Fprintln(w, "Data is up to date.")
	}
}

func newDataPushCmd() *cobra.Command {
	var (
		v  versionFlags
		rf remoteFlags
	)
	cmd := &cobra.Command{
		Use:   "push [TARGET...]",
		Short: "Upload cached data to a remote, as `dvc push` does",
		Long: `Upload to the remote the objects of the tracked outputs (TARGET: a .dvc file
or the path it tracks; default all) that it does not have, laid out as DVC 3
lays them out (files/md5/xx/...), so 'dvc pull' can read them. Each object
is checked against its md5 as it is read; a corrupted one is removed from
the cache and reported.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := v.openRepo(cmd)
			if err != nil {
				return err
			}
			res, err := r.Push(cmd.Context(), args, rf.options())
			if err == nil || res.Transferred > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%d objects pushed (%s), %d already on the remote\n", res.Transferred, formatBytes(res.Bytes), res.Present)
			}
			return err
		},
	}
	v.register(cmd, true)
	rf.register(cmd)
	return cmd
}

func newDataFetchCmd() *cobra.Command {
	var (
		v  versionFlags
		rf remoteFlags
	)
	cmd := &cobra.Command{
		Use:   "fetch [TARGET...]",
		Short: "Download data from a remote into the cache, as `dvc fetch` does",
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := v.openRepo(cmd)
			if err != nil {
				return err
			}
			res, err := r.Fetch(cmd.Context(), args, rf.options())
			if err == nil || res.Transferred > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%d objects fetched (%s), %d already in the cache\n", res.Transferred, formatBytes(res.Bytes), res.Present)
			}
			return err
		},
	}
	v.register(cmd, true)
	rf.register(cmd)
	return cmd
}

func newDataPullCmd() *cobra.Command {
	var (
		v     versionFlags
		rf    remoteFlags
		force bool
	)
	cmd := &cobra.Command{
		Use:   "pull [TARGET...]",
		Short: "Fetch data from a remote and check it out, as `dvc pull` does",
		Long: `Download the objects the cache lacks (each checked against its md5 before
it enters the cache), then check the tracked outputs out (TARGET: a .dvc
file or the path it tracks; default all). Workspace files whose content is
not in the cache are never overwritten or removed: pull stops and names
them, unless --force, which stores them in the cache first.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := v.openRepo(cmd)
			if err != nil {
				return err
			}
			tr, cr, err := r.Pull(cmd.Context(), args, rf.options(), force)
			if err == nil || tr.Transferred > 0 || cr != (datastore.CheckoutResult{}) {
				fmt.Fprintf(cmd.OutOrStdout(), "%d objects fetched (%s); %s\n", tr.Transferred, formatBytes(tr.Bytes), checkoutSummary(cr))
			}
			return err
		},
	}
	v.register(cmd, true)
	rf.register(cmd)
	cmd.Flags().BoolVarP(&force, "force", "f", false, "overwrite workspace changes, after storing them in the cache")
	return cmd
}

func newDataCheckoutCmd() *cobra.Command {
	var (
		v     versionFlags
		force bool
	)
	cmd := &cobra.Command{
		Use:   "checkout [TARGET...]",
		Short: "Make the workspace match the .dvc files from the cache, as `dvc checkout` does",
		Long: `Write the files of the recorded versions (TARGET: a .dvc file or the path
it tracks; default all) from the cache, and remove files a directory no
longer holds. Workspace files whose content is not in the cache are never
overwritten or removed: checkout stops and names them, unless --force,
which stores them in the cache first (so they can still be found by md5).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := v.openRepo(cmd)
			if err != nil {
				return err
			}
			res, err := r.Checkout(cmd.Context(), args, force)
			fmt.Fprintln(cmd.OutOrStdout(), checkoutSummary(res))
			return err
		},
	}
	v.register(cmd, false)
	cmd.Flags().BoolVarP(&force, "force", "f", false, "overwrite workspace changes, after storing them in the cache")
	return cmd
}

func checkoutSummary(r datastore.CheckoutResult) string {
	return fmt.Sprintf("%d files added, %d modified, %d deleted, %d unchanged", r.Added, r.Modified, r.Deleted, r.Unchanged)
}

func newDataRemoteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "remote",
		Short: "Configure remotes in .dvc/config, as `dvc remote` does",
	}
	var def, force, local, unset bool
	add := &cobra.Command{
		Use:   "add [-d] NAME URL",
		Short: "Add a remote: a local directory or s3://bucket/prefix",
		Long: `Add a remote to .dvc/config (or .dvc/config.local with --local), written as
DVC writes it. URL is a directory (a relative path is taken from the
current directory) or s3://bucket/prefix; for MinIO set its endpoint with
'yolops data remote modify NAME endpointurl http://host:9000', and keep
keys out of git with --local access_key_id / secret_access_key (else the
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables are used).`,
		Example: `  yolops data remote add -d store /mnt/shared/dvc-store
  yolops data remote add -d minio s3://datasets/person
  yolops data remote modify minio endpointurl http://127.0.0.1:9000
  yolops data remote modify --local minio access_key_id minioadmin`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := datastore.Find(".")
			if err != nil {
				return err
			}
			if err := r.AddRemote(args[0], args[1], def, force, local); err != nil {
				return err
			}
			if def {
				fmt.Fprintf(cmd.OutOrStdout(), "Setting '%s' as a default remote.\n", strings.ToLower(args[0]))
			}
			return nil
		},
	}
	add.Flags().BoolVarP(&def, "default", "d", false, "make it the default remote")
	add.Flags().BoolVarP(&force, "force", "f", false, "overwrite a remote of that name")
	add.Flags().BoolVar(&local, "local", false, "write to .dvc/config.local, which git ignores")

	modify := &cobra.Command{
		Use:   "modify NAME OPTION [VALUE]",
		Short: "Set or (--unset) remove an option of a remote",
		Args: func(cmd *cobra.Command, args []string) error {
			if unset {
				return cobra.ExactArgs(2)(cmd, args)
			}
			return cobra.ExactArgs(3)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := datastore.Find(".")
			if err != nil {
				return err
			}
			value := ""
			if len(args) == 3 {
				value = args[2]
			}
			return r.ModifyRemote(args[0], args[1], value, unset, local)
		},
	}
	modify.Flags().BoolVar(&unset, "unset", false, "remove the option")
	modify.Flags().BoolVar(&local, "local", false, "write to .dvc/config.local, which git ignores")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the remotes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := datastore.Find(".")
			if err != nil {
				return err
			}
			def := r.DefaultRemote()
			for _, name := range r.Remotes() {
				rc, err := r.Remote(name)
				if err != nil {
					return err
				}
				mark := ""
				if name == def {
					mark = " (default)"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s%s\n", name, rc.URL, mark)
			}
			return nil
		},
	}
	defCmd := &cobra.Command{
		Use:   "default NAME",
		Short: "Make NAME the default remote",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := datastore.Find(".")
			if err != nil {
				return err
			}
			return r.SetDefaultRemote(args[0])
		},
	}
	cmd.AddCommand(add, modify, list, defCmd)
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// relToWD shortens p to a path relative to the working directory when it
// is below it.
func relToWD(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t'\"$`\\*?[]#&;|<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return out
}

func formatBytes(n int64) string {
	if n < 0 {
		return "?"
	}
	return humanize.Bytes(uint64(n))
}

// progressPrinter shows datastore progress: a bar redrawn in place on a
// terminal, plain lines (at most one per 10% or 5 s) otherwise and when
// CI=true.
type progressPrinter struct {
	w   io.Writer
	tty bool
	now func() time.Time

	mu          sync.Mutex
	task        string
	files       int
	bytes       int64
	doneFiles   int
	doneBytes   int64
	start, last time.Time
	lastTenth   int
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	tty := false
	if f, ok := w.(*os.File); ok && os.Getenv("CI") != "true" {
		tty = isatty.IsTerminal(f.Fd())
	}
	return &progressPrinter{w: w, tty: tty, now: time.Now}
}

func (p *progressPrinter) Start(task string, files int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.task, p.files, p.bytes = task, files, bytes
	p.doneFiles, p.doneBytes = 0, 0
	p.start = p.now()
	p.last = p.start
	p.lastTenth = 0
	if files > 0 && !p.tty {
		fmt.Fprintf(p.w, "%s: %d files%s\n", task, files, p.sizeNote())
	}
}

func (p *progressPrinter) sizeNote() string {
	if p.bytes <= 0 {
		return ""
	}
	return ", " + formatBytes(p.bytes)
}

func (p *progressPrinter) Add(files int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doneFiles += files
	p.doneBytes += bytes
	now := p.now()
	if p.tty {
		if now.Sub(p.last) >= 100*time.Millisecond || p.doneFiles == p.files {
			p.last = now
			fmt.Fprintf(p.w, "\r\033[K%s", p.line(now, true))
		}
		return
	}
	tenth := 0
	if p.files > 0 {
		tenth = p.doneFiles * 10 / p.files
	}
	// Quick tasks get their first and last lines only.
	if now.Sub(p.start) < time.Second {
		return
	}
	if tenth > p.lastTenth && p.doneFiles < p.files || now.Sub(p.last) >= 5*time.Second {
		p.lastTenth = tenth
		p.last = now
		fmt.Fprintf(p.w, "%s\n", p.line(now, false))
	}
}

// line describes the progress: count, share, rate and time left.
func (p *progressPrinter) line(now time.Time, bar bool) string {
	var b strings.Builder
	b.WriteString(p.task + " ")
	frac := 1.0
	if p.files > 0 {
		frac = float64(p.doneFiles) / float64(p.files)
	}
	if bar {
		const width = 24
		n := int(frac * width)
		b.WriteString("[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "] ")
	}
	fmt.Fprintf(&b, "%d/%d files (%d%%)", p.doneFiles, p.files, int(frac*100))
	if el := now.Sub(p.start).Seconds(); el > 0 {
		if p.doneBytes > 0 {
			fmt.Fprintf(&b, " %s/s", formatBytes(int64(float64(p.doneBytes)/el)))
		} else {
			fmt.Fprintf(&b, " %.1f files/s", float64(p.doneFiles)/el)
		}
		if frac > 0 && frac < 1 {
			left := time.Duration(el * (1 - frac) / frac * float64(time.Second))
			fmt.Fprintf(&b, " ETA %s", left.Round(time.Second))
		}
	}
	return b.String()
}

func (p *progressPrinter) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.files == 0 {
		return
	}
	el := p.now().Sub(p.start).Round(time.Millisecond)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "%s: %d/%d files in %s\n", p.task, p.doneFiles, p.files, el)
}
