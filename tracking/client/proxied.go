package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/rest"
)

// Proxied is an artifacts.Store over a tracking server's proxied artifact
// API (/api/2.0/mlflow-artifacts), rooted at the server's artifacts
// destination: the store that mlflow-artifacts:/ URIs name. Uploads and
// downloads stream.
type Proxied struct {
	c *REST
}

var _ artifacts.Store = (*Proxied)(nil)

// Artifacts returns the server's proxied artifact store.
func (c *REST) Artifacts() *Proxied { return &Proxied{c: c} }

func (p *Proxied) url(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return p.c.base + rest.APIPrefix + rest.ArtifactsPath + strings.Join(segs, "/")
}

// URI implements artifacts.Store.
func (p *Proxied) URI() string {
	return p.c.base + rest.APIPrefix + strings.TrimSuffix(rest.ArtifactsPath, "/")
}

// Put implements artifacts.Store: one streamed PUT, not retried (the body
// cannot be read twice).
func (p *Proxied) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := artifacts.CheckKey(key); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.url(key), io.NopCloser(r))
	if err != nil {
		return fmt.Errorf("artifacts: put %q: %w", key, err)
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	ct := mime.TypeByExtension(path.Ext(key))
	if ct == "" {
		ct = "application/octet-stream"
	}
	req.Header.Set("Content-Type", ct)
	if p.c.auth != nil {
		p.c.auth(req)
	}
	res, err := p.c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("artifacts: put %q: %w", key, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return p.fail("put", key, responseError(req, res))
	}
	return nil
}

// fail wraps a server error, keeping artifacts' sentinel errors visible.
func (p *Proxied) fail(op, key string, err error) error {
	switch tracking.CodeOf(err) {
	case tracking.ResourceDoesNotExist:
		return fmt.Errorf("artifacts: %s %q: %w (%v)", op, key, artifacts.ErrNotExist, err)
	case tracking.InvalidParameterValue:
		return fmt.Errorf("artifacts: %s %q: %w (%v)", op, key, artifacts.ErrBadKey, err)
	}
	return fmt.Errorf("artifacts: %s %q: %w", op, key, err)
}

func (p *Proxied) get(ctx context.Context, method, key string) (*http.Response, error) {
	if err := artifacts.CheckKey(key); err != nil {
		return nil, err
	}
	var res *http.Response
	err := p.c.do(ctx, true, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, method, p.url(key), nil)
	}, func(r *http.Response) error {
		// Keep the body open for the caller: hand over a copy of the
		// response whose body do will not drain.
		cp := *r
		cp.Body = r.Body
		r.Body = io.NopCloser(strings.NewReader(""))
		res = &cp
		return nil
	})
	if err != nil {
		return nil, p.fail(strings.ToLower(method), key, err)
	}
	return res, nil
}

func infoOf(key string, res *http.Response) artifacts.Info {
	info := artifacts.Info{Key: key, Size: res.ContentLength}
	if t, err := http.ParseTime(res.Header.Get("Last-Modified")); err == nil {
		info.ModTime = t
	}
	if n, err := strconv.ParseInt(res.Header.Get("Content-Length"), 10, 64); err == nil {
		info.Size = n
	}
	return info
}

// Get implements artifacts.Store.
func (p *Proxied) Get(ctx context.Context, key string) (io.ReadCloser, artifacts.Info, error) {
	res, err := p.get(ctx, http.MethodGet, key)
	if err != nil {
		return nil, artifacts.Info{}, err
	}
	return res.Body, infoOf(key, res), nil
}

// Stat implements artifacts.Store (a HEAD request).
func (p *Proxied) Stat(ctx context.Context, key string) (artifacts.Info, error) {
	res, err := p.get(ctx, http.MethodHead, key)
	if err != nil {
		return artifacts.Info{}, err
	}
	res.Body.Close()
	return infoOf(key, res), nil
}

// List implements artifacts.Store.
func (p *Proxied) List(ctx context.Context, prefix string, recursive bool) ([]artifacts.Info, error) {
	if prefix != "" {
		if err := artifacts.CheckKey(prefix); err != nil {
			return nil, err
		}
	}
	var resp rest.ListArtifactsProxiedResponse
	if err := p.c.call(ctx, rest.ListArtifactsProxied, &rest.ListArtifactsProxiedRequest{Path: &prefix}, &resp); err != nil {
		return nil, p.fail("list", prefix, err)
	}
	var out []artifacts.Info
	for _, f := range resp.Files {
		key := path.Base(f.Path)
		if prefix != "" {
			key = prefix + "/" + key
		}
		if f.IsDir {
			if !recursive {
				out = append(out, artifacts.Info{Key: key, Dir: true})
				continue
			}
			below, err := p.List(ctx, key, true)
			if err != nil {
				return nil, err
			}
			out = append(out, below...)
			continue
		}
		info := artifacts.Info{Key: key}
		if f.FileSize != nil {
			info.Size = int64(*f.FileSize)
		}
		out = append(out, info)
	}
	return out, nil
}

// Delete implements artifacts.Store.
func (p *Proxied) Delete(ctx context.Context, key string) error {
	if err := artifacts.CheckKey(key); err != nil {
		return err
	}
	err := p.c.do(ctx, true, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodDelete, p.url(key), nil)
	}, func(*http.Response) error { return nil })
	if err != nil && !errors.Is(p.fail("delete", key, err), artifacts.ErrNotExist) {
		return p.fail("delete", key, err)
	}
	return nil
}
