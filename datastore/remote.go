package datastore

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/yolops/yolops/artifacts"
)

// DefaultRemote is the remote named by core.remote ("" when none), from
// .dvc/config.local if set there, else from .dvc/config.
func (r *Repo) DefaultRemote() string {
	v, _ := r.get("core", "remote")
	return v
}

// Remotes lists the names of the configured remotes.
func (r *Repo) Remotes() []string {
	seen := map[string]bool{}
	var names []string
	for _, c := range []*Config{r.config, r.local} {
		for _, n := range c.Remotes() {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}

// Remote returns the configuration of the remote called name, or of the
// default remote when name is "".
func (r *Repo) Remote(name string) (RemoteConfig, error) {
	if name == "" {
		name = r.DefaultRemote()
		if name == "" {
			return RemoteConfig{}, fmt.Errorf("no remote given and no default remote: set one with `yolops data remote add -d NAME URL`")
		}
	}
	rc := RemoteConfig{Name: name, Options: map[string]string{}}
	found := false
	for _, c := range []*Config{r.config, r.local} {
		s := c.Section(RemoteSection(name))
		if s == nil {
			continue
		}
		found = true
		for _, kv := range s.Keys {
			if kv.IsList {
				return RemoteConfig{}, fmt.Errorf("remote %q: option %q is a list; yolops expects single values", name, kv.Key)
			}
			rc.Options[kv.Key] = kv.Value
		}
	}
	if !found {
		return RemoteConfig{}, fmt.Errorf("remote %q does not exist (configured: %s)", name, strings.Join(r.Remotes(), ", "))
	}
	url, ok := rc.Options["url"]
	if !ok || url == "" {
		return RemoteConfig{}, fmt.Errorf("remote %q has no url", name)
	}
	delete(rc.Options, "url")
	rc.URL = resolveRemoteURL(filepath.Join(r.Root, DVCDir), url)
	return rc, nil
}

// checkRemoteName refuses names that cannot be written as DVC's
// 'remote "name"' section.
func checkRemoteName(name string) error {
	if name == "" || strings.ContainsAny(name, "\"'\n\r[]") || strings.TrimSpace(name) != name {
		return fmt.Errorf("remote name %q: use letters, digits, '-' or '_'", name)
	}
	return nil
}

// AddRemote adds a remote to .dvc/config (or .dvc/config.local with
// local), as `dvc remote add [-d] [-f] [--local] NAME URL` does: the name
// is lower-cased, a relative local path is taken relative to the current
// directory and written relative to .dvc/, and with def the remote becomes
// core.remote.
func (r *Repo) AddRemote(name, url string, def, force, local bool) error {
	name = strings.ToLower(name)
	if err := checkRemoteName(name); err != nil {
		return err
	}
	if url == "" {
		return fmt.Errorf("remote %q: empty url", name)
	}
	c, file := r.config, "config"
	if local {
		c, file = r.local, "config.local"
	}
	if c.Section(RemoteSection(name)) != nil && !force {
		return fmt.Errorf("remote %q already exists; use --force to overwrite it", name)
	}
	stored := url
	if !hasScheme(url) && !filepath.IsAbs(url) && !strings.HasPrefix(url, "~") {
		abs, err := filepath.Abs(url)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(filepath.Join(r.Root, DVCDir), abs)
		if err != nil {
			return err
		}
		stored = filepath.ToSlash(rel)
	}
	if s := c.Section(RemoteSection(name)); s != nil {
		s.Keys = nil
	}
	c.Set(RemoteSection(name), "url", stored)
	if def {
		c.Set("core", "remote", name)
	}
	return r.saveConfig(c, file)
}

// ModifyRemote sets (or with unset removes) an option of a remote, as
// `dvc remote modify [--local] [--unset] NAME OPTION [VALUE]` does; for
// MinIO, `endpointurl`, and in config.local `access_key_id` and
// `secret_access_key`.
func (r *Repo) ModifyRemote(name, option, value string, unset, local bool) error {
	name = strings.ToLower(name)
	option = strings.ToLower(option)
	if _, err := r.Remote(name); err != nil && !(local && r.config.Section(RemoteSection(name)) != nil) {
		return err
	}
	if option == "" || strings.ContainsAny(option, "=\n\r[]\"' \t") {
		return fmt.Errorf("option name %q is not valid", option)
	}
	c, file := r.config, "config"
	if local {
		c, file = r.local, "config.local"
	}
	if unset {
		c.Unset(RemoteSection(name), option)
	} else {
		c.Set(RemoteSection(name), option, value)
	}
	return r.saveConfig(c, file)
}

// SetDefaultRemote sets core.remote, as `dvc remote default NAME` does.
func (r *Repo) SetDefaultRemote(name string) error {
	name = strings.ToLower(name)
	if _, err := r.Remote(name); err != nil {
		return err
	}
	r.config.Set("core", "remote", name)
	return r.saveConfig(r.config, "config")
}

func (r *Repo) saveConfig(c *Config, file string) error {
	data, err := c.Bytes()
	if err != nil {
		return err
	}
	perm := 0o666
	if file == "config.local" {
		perm = 0o600 // it holds credentials
	}
	return writeFileAtomic(filepath.Join(r.Root, DVCDir, file), data, os.FileMode(perm))
}

// OpenRemote opens the store of a configured remote: a local directory,
// or an S3 bucket (AWS or MinIO) configured as DVC configures its s3
// remotes: endpointurl (http://host:port for MinIO), access_key_id,
// secret_access_key, session_token and region, from .dvc/config or
// .dvc/config.local, falling back to the AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_DEFAULT_REGION
// variables; ssl_verify = false accepts any certificate.
func OpenRemote(ctx context.Context, rc RemoteConfig) (artifacts.Store, error) {
	u, err := url.Parse(rc.URL)
	if !hasScheme(rc.URL) || err == nil && u.Scheme == "file" {
		p := rc.URL
		if hasScheme(rc.URL) {
			p = u.Path
		}
		return artifacts.NewLocal(p)
	}
	if err != nil {
		return nil, fmt.Errorf("remote %q: url %q: %w", rc.Name, rc.URL, err)
	}
	if u.Scheme != "s3" {
		return nil, fmt.Errorf("remote %q: url %q: yolops handles local and s3:// remotes, not %s://", rc.Name, rc.URL, u.Scheme)
	}
	for _, k := range []string{"profile", "credentialpath", "configpath", "grant_read", "sse_kms_key_id"} {
		if _, ok := rc.Options[k]; ok {
			return nil, fmt.Errorf("remote %q: option %q is not supported by yolops; give access_key_id and secret_access_key instead", rc.Name, k)
		}
	}
	opt := func(key, env string) string {
		if v, ok := rc.Options[key]; ok {
			return v
		}
		if env != "" {
			return os.Getenv(env)
		}
		return ""
	}
	cfg := artifacts.S3Config{
		Endpoint:     "s3.amazonaws.com",
		Secure:       true,
		Bucket:       u.Host,
		Prefix:       strings.Trim(u.Path, "/"),
		AccessKey:    opt("access_key_id", "AWS_ACCESS_KEY_ID"),
		SecretKey:    opt("secret_access_key", "AWS_SECRET_ACCESS_KEY"),
		SessionToken: opt("session_token", "AWS_SESSION_TOKEN"),
		Region:       opt("region", "AWS_DEFAULT_REGION"),
	}
	if cfg.Region == "" {
		cfg.Region = os.Getenv("AWS_REGION")
	}
	if ep := opt("endpointurl", ""); ep != "" {
		e, err := url.Parse(ep)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || strings.Trim(e.Path, "/") != "" {
			return nil, fmt.Errorf("remote %q: endpointurl %q: want http(s)://host[:port]", rc.Name, ep)
		}
		cfg.Endpoint, cfg.Secure = e.Host, e.Scheme == "https"
	}
	// ssl_verify may also name a CA bundle; only an explicit false turns
	// checking off.
	switch strings.ToLower(rc.Options["ssl_verify"]) {
	case "false", "0", "no", "off":
		cfg.SkipVerify = true
	}
	return artifacts.NewS3(ctx, cfg)
}
