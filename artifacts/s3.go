package artifacts

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// DefaultPartSize is the part size of the multipart uploads that S3.Put
// makes for objects of unknown size: the memory one such Put holds, and a
// 10,000th of the largest object it can store (160 GiB).
const DefaultPartSize = 16 << 20

// S3Config says where an S3 store lives and how to reach it.
type S3Config struct {
	// Endpoint is host[:port], without a scheme: "s3.amazonaws.com",
	// "127.0.0.1:9000".
	Endpoint string
	Bucket   string
	// Prefix is the folder of the bucket the store's keys live under; ""
	// for the whole bucket.
	Prefix                             string
	AccessKey, SecretKey, SessionToken string // all empty: anonymous access
	// Region is the bucket's region; "" asks the server.
	Region string
	// Secure selects https; SkipVerify then accepts any certificate
	// (MLFLOW_S3_IGNORE_TLS).
	Secure, SkipVerify bool
	// PartSize overrides DefaultPartSize (at least 5 MiB).
	PartSize int64
}

// S3 is a Store in an S3 bucket (AWS, MinIO or another compatible server),
// under an optional prefix.
type S3 struct {
	client   *minio.Client
	bucket   string
	prefix   string // "" or a key
	partSize int64
}

// NewS3 connects to the bucket and checks that it exists.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("artifacts: s3: empty endpoint")
	}
	if strings.Contains(cfg.Endpoint, "://") || strings.Contains(cfg.Endpoint, "/") {
		return nil, fmt.Errorf("artifacts: s3: endpoint %q: want host[:port], without scheme or path (https is S3Config.Secure)", cfg.Endpoint)
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("artifacts: s3: bucket %q: %w", cfg.Bucket, err)
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("artifacts: s3: prefix: %w", err)
	}
	partSize := cfg.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if partSize < 5<<20 || partSize > 5<<30 {
		return nil, fmt.Errorf("artifacts: s3: part size %d: want 5 MiB to 5 GiB, as S3 allows", partSize)
	}
	opts := &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		Secure: cfg.Secure,
		Region: cfg.Region,
	}
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		opts.Creds = credentials.NewStatic("", "", "", credentials.SignatureAnonymous)
	}
	if cfg.Secure && cfg.SkipVerify {
		tr, err := minio.DefaultTransport(true)
		if err != nil {
			return nil, fmt.Errorf("artifacts: s3: %w", err)
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.InsecureSkipVerify = true
		opts.Transport = tr
	}
	client, err := minio.New(cfg.Endpoint, opts)
	if err != nil {
		return nil, fmt.Errorf("artifacts: s3 endpoint %q: %w", cfg.Endpoint, err)
	}
	s := &S3{client: client, bucket: cfg.Bucket, prefix: prefix, partSize: partSize}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("artifacts: s3: reach bucket %q at %s: %w", cfg.Bucket, client.EndpointURL(), err)
	}
	if !ok {
		return nil, fmt.Errorf("artifacts: s3: bucket %q does not exist at %s", cfg.Bucket, client.EndpointURL())
	}
	return s, nil
}

// URI returns s3://bucket/prefix.
func (s *S3) URI() string {
	if s.prefix == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + s.prefix
}

// object is the S3 object name of key.
func (s *S3) object(key string) string { return joinKey(s.prefix, key) }

func (s *S3) fail(ctx context.Context, op, key string, err error) error {
	var resp minio.ErrorResponse
	switch {
	case errors.As(err, &resp) && resp.Code == minio.NoSuchKey:
		return fmt.Errorf("artifacts: %s %q in %s: %w", op, key, s.URI(), ErrNotExist)
	case errors.As(err, &resp) && resp.Code == minio.NoSuchBucket:
		return fmt.Errorf("artifacts: %s %q in %s: bucket %q does not exist (any more): %w", op, key, s.URI(), s.bucket, err)
	case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		// minio-go does not always wrap the context's error.
		return fmt.Errorf("artifacts: %s %q in %s: %w (%w)", op, key, s.URI(), ctx.Err(), err)
	}
	return fmt.Errorf("artifacts: %s %q in %s: %w", op, key, s.URI(), err)
}

// Put uploads r: in one request when size is known and at most the part
// size, else as a multipart upload, which S3 assembles only when it
// completes (and which is aborted on error). Either way the object
// appears whole or not at all.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := CheckKey(key); err != nil {
		return fmt.Errorf("artifacts: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, "put", key, err)
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	if size >= 0 {
		e := newExactReader(r, size)
		if size == 0 {
			// minio-go sends an empty body without reading r at all.
			if err := e.checkEnd(); err != nil {
				return s.fail(ctx, "put", key, err)
			}
		}
		r = e
	} else {
		// Without it minio-go sizes parts for a 5 TiB object: 576 MiB each,
		// held in memory.
		opts.PartSize = uint64(s.partSize)
	}
	if _, err := s.client.PutObject(ctx, s.bucket, s.object(key), r, size, opts); err != nil {
		return s.fail(ctx, "put", key, err)
	}
	return nil
}

// Get opens the object at key; reading it streams the response body.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := CheckKey(key); err != nil {
		return nil, Info{}, fmt.Errorf("artifacts: get: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, s.fail(ctx, "get", key, err)
	}
	// Core.GetObject is one GET whose body the caller reads. Client's
	// Object would send more requests as it is read, with If-Match, and
	// fail when the object is replaced meanwhile.
	body, st, _, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, s.object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s.fail(ctx, "get", key, err)
	}
	// ctxReader: the body's error for a read after cancellation does not
	// always wrap context.Canceled; this one does, as Local's does.
	return ctxReadCloser{ctxReader{ctx, body}, body}, Info{Key: key, Size: st.Size, ModTime: st.LastModified}, nil
}

// Stat describes the object at key with a HEAD request.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, fmt.Errorf("artifacts: stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, s.fail(ctx, "stat", key, err)
	}
	st, err := s.client.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.fail(ctx, "stat", key, err)
	}
	return Info{Key: key, Size: st.Size, ModTime: st.LastModified}, nil
}

// List lists with ListObjectsV2, "/" as the delimiter unless recursive.
// Names that are not valid keys (folder markers ending in "/", "a//b"
// written by other tools) are left out, as Local leaves them out.
func (s *S3) List(ctx context.Context, prefix string, recursive bool) ([]Info, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("artifacts: list: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, s.fail(ctx, "list", prefix, err)
	}
	// base is the object name prefix of the listed folder: "" or "dir/".
	base := s.prefix
	if prefix != "" {
		base = s.object(prefix)
	}
	if base != "" {
		base += "/"
	}
	// Cancel on return: minio-go's listing goroutine runs until the channel
	// is drained or the context ends.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out []Info
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: base, Recursive: recursive}) {
		if obj.Err != nil {
			return nil, s.fail(ctx, "list", prefix, obj.Err)
		}
		rel, ok := strings.CutPrefix(obj.Key, base)
		if !ok {
			continue
		}
		dir := false
		if !recursive {
			rel, dir = strings.CutSuffix(rel, "/")
		}
		key := joinKey(prefix, rel)
		if rel == "" || CheckKey(key) != nil {
			continue
		}
		if dir {
			out = append(out, Info{Key: key, Dir: true})
		} else {
			out = append(out, Info{Key: key, Size: obj.Size, ModTime: obj.LastModified})
		}
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete removes the object at key; S3 reports success for a missing key.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return fmt.Errorf("artifacts: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, "delete", key, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.object(key), minio.RemoveObjectOptions{}); err != nil {
		return s.fail(ctx, "delete", key, err)
	}
	return nil
}
