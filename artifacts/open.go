package artifacts

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Open returns the store a URI names, as MLflow reads an artifact URI:
//
//   - a plain path, or file:///abs/path: a Local store in that folder;
//   - s3://bucket/prefix: an S3 store, configured from the environment as
//     MLflow configures boto3: MLFLOW_S3_ENDPOINT_URL (e.g.
//     http://127.0.0.1:9000 for MinIO; default AWS), AWS_ACCESS_KEY_ID,
//     AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (else the shared
//     credentials file, ~/.aws/credentials, else anonymous),
//     AWS_DEFAULT_REGION (or AWS_REGION), and MLFLOW_S3_IGNORE_TLS=true to
//     skip certificate checks.
func Open(ctx context.Context, uri string) (Store, error) {
	return openEnv(ctx, uri, os.Getenv)
}

func openEnv(ctx context.Context, uri string, getenv func(string) string) (Store, error) {
	if uri == "" {
		return nil, errors.New("artifacts: open: empty URI")
	}
	if !strings.Contains(uri, "://") && !strings.HasPrefix(uri, "file:") {
		return NewLocal(uri)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("artifacts: open %q: %w", uri, err)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("artifacts: open %q: a store URI takes no user, query or fragment", uri)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("artifacts: open %q: host %q: only local files (file:///path)", uri, u.Host)
		}
		if u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
			return nil, fmt.Errorf("artifacts: open %q: a file URI needs an absolute path (file:///path)", uri)
		}
		return NewLocal(u.Path)
	case "s3":
		cfg, err := s3ConfigFromEnv(u, getenv)
		if err != nil {
			return nil, fmt.Errorf("artifacts: open %q: %w", uri, err)
		}
		return NewS3(ctx, cfg)
	}
	return nil, fmt.Errorf("artifacts: open %q: unsupported scheme %q (want a path, file:// or s3://)", uri, u.Scheme)
}

func s3ConfigFromEnv(u *url.URL, getenv func(string) string) (S3Config, error) {
	if u.Host == "" {
		return S3Config{}, errors.New("no bucket (want s3://bucket/prefix)")
	}
	cfg := S3Config{
		Endpoint:     "s3.amazonaws.com",
		Secure:       true,
		Bucket:       u.Host,
		Prefix:       strings.Trim(u.Path, "/"),
		AccessKey:    getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:    getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: getenv("AWS_SESSION_TOKEN"),
		Region:       getenv("AWS_DEFAULT_REGION"),
	}
	if cfg.Region == "" {
		cfg.Region = getenv("AWS_REGION")
	}
	if ep := getenv("MLFLOW_S3_ENDPOINT_URL"); ep != "" {
		e, err := url.Parse(ep)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || strings.Trim(e.Path, "/") != "" {
			return S3Config{}, fmt.Errorf("MLFLOW_S3_ENDPOINT_URL=%q: want http(s)://host[:port]", ep)
		}
		cfg.Endpoint = e.Host
		cfg.Secure = e.Scheme == "https"
	}
	if v := getenv("MLFLOW_S3_IGNORE_TLS"); v != "" {
		// MLflow's boolean variables accept these four, in any case.
		switch strings.ToLower(v) {
		case "true", "1":
			cfg.SkipVerify = true
		case "false", "0":
		default:
			return S3Config{}, fmt.Errorf("MLFLOW_S3_IGNORE_TLS=%q: want true, false, 1 or 0", v)
		}
	}
	if (cfg.AccessKey == "") != (cfg.SecretKey == "") {
		return S3Config{}, errors.New("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither")
	}
	if cfg.AccessKey == "" {
		// As boto3 does next; FileAWSCredentials reads
		// AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE itself.
		if v, err := credentials.NewFileAWSCredentials("", "").Get(); err == nil {
			cfg.AccessKey, cfg.SecretKey, cfg.SessionToken = v.AccessKeyID, v.SecretAccessKey, v.SessionToken
		}
	}
	return cfg, nil
}
