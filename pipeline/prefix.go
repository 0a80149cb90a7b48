package pipeline

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/yolops/yolops/artifacts"
)

// prefixed is the part of a store below a key prefix: a run's artifacts in
// a store shared by all runs (a tracking server's proxied artifacts).
type prefixed struct {
	s      artifacts.Store
	prefix string // a key, without a trailing slash
}

func (p prefixed) key(k string) string {
	if k == "" {
		return p.prefix
	}
	return p.prefix + "/" + k
}

func (p prefixed) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := artifacts.CheckKey(key); err != nil {
		return fmt.Errorf("artifacts: put: %w", err)
	}
	return p.s.Put(ctx, p.key(key), r, size)
}

func (p prefixed) Get(ctx context.Context, key string) (io.ReadCloser, artifacts.Info, error) {
	if err := artifacts.CheckKey(key); err != nil {
		return nil, artifacts.Info{}, fmt.Errorf("artifacts: get: %w", err)
	}
	rc, info, err := p.s.Get(ctx, p.key(key))
	info.Key = key
	return rc, info, err
}

func (p prefixed) Stat(ctx context.Context, key string) (artifacts.Info, error) {
	if err := artifacts.CheckKey(key); err != nil {
		return artifacts.Info{}, fmt.Errorf("artifacts: stat: %w", err)
	}
	info, err := p.s.Stat(ctx, p.key(key))
	info.Key = key
	return info, err
}

func (p prefixed) List(ctx context.Context, prefix string, recursive bool) ([]artifacts.Info, error) {
	if prefix != "" {
		if err := artifacts.CheckKey(prefix); err != nil {
			return nil, fmt.Errorf("artifacts: list: %w", err)
		}
	}
	list, err := p.s.List(ctx, p.key(prefix), recursive)
	for i := range list {
		list[i].Key = strings.TrimPrefix(list[i].Key, p.prefix+"/")
	}
	return list, err
}

func (p prefixed) Delete(ctx context.Context, key string) error {
	if err := artifacts.CheckKey(key); err != nil {
		return fmt.Errorf("artifacts: delete: %w", err)
	}
	return p.s.Delete(ctx, p.key(key))
}

func (p prefixed) URI() string { return strings.TrimRight(p.s.URI(), "/") + "/" + p.prefix }
