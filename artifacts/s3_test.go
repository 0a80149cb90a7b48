package artifacts_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/artifacts/artifactstest"
)

// s3TestConfig returns the S3 server to test against, from the variables
// that .ci/minio.sh prints, with no bucket yet. Without them the test is
// skipped, except in CI (CI=true), where skipping would hide that the S3
// backend went untested.
func s3TestConfig(tb testing.TB) artifacts.S3Config {
	tb.Helper()
	ep := os.Getenv("YOLOPS_TEST_S3_ENDPOINT")
	if ep == "" {
		msg := `YOLOPS_TEST_S3_ENDPOINT is unset, so there is no S3 server to test against; start one with: eval "$(bash .ci/minio.sh start)"`
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg + " (CI=true: the S3 tests may not be skipped)")
		}
		tb.Skip(msg)
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		tb.Fatalf("YOLOPS_TEST_S3_ENDPOINT=%q: want http(s)://host:port", ep)
	}
	return artifacts.S3Config{
		Endpoint:  u.Host,
		Secure:    u.Scheme == "https",
		AccessKey: os.Getenv("YOLOPS_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("YOLOPS_TEST_S3_SECRET_KEY"),
	}
}

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newTestBucket creates a bucket with a random name, removed (with its
// objects) when the test ends.
func newTestBucket(tb testing.TB) (artifacts.S3Config, *minio.Client) {
	tb.Helper()
	cfg := s3TestConfig(tb)
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
	})
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Bucket = randomName("yolops-test-")
	if err := client.MakeBucket(context.Background(), cfg.Bucket, minio.MakeBucketOptions{}); err != nil {
		tb.Fatalf("create bucket %s at %s: %v", cfg.Bucket, cfg.Endpoint, err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		for obj := range client.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				tb.Errorf("cleanup: list %s: %v", cfg.Bucket, obj.Err)
				break
			}
			if err := client.RemoveObject(ctx, cfg.Bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
				tb.Errorf("cleanup: remove %s/%s: %v", cfg.Bucket, obj.Key, err)
			}
		}
		if err := client.RemoveBucket(ctx, cfg.Bucket); err != nil {
			tb.Errorf("cleanup: remove bucket %s: %v", cfg.Bucket, err)
		}
	})
	return cfg, client
}

func TestS3(t *testing.T) {
	s3TestConfig(t) // skip (or fail in CI) once, not in every subtest
	t.Run("prefix", func(t *testing.T) {
		cfg, client := newTestBucket(t)
		// 5 MiB parts, S3's minimum, so that the suite's 10 MiB objects of
		// unknown size take several parts (and one ends on a boundary).
		cfg.PartSize = 5 << 20
		artifactstest.Run(t, func(t *testing.T) artifacts.Store {
			c := cfg
			c.Prefix = randomName("store-") + "/nested/"
			s, err := artifacts.NewS3(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			if want := "s3://" + c.Bucket + "/" + strings.Trim(c.Prefix, "/"); s.URI() != want {
				t.Errorf("URI() = %q, want %q", s.URI(), want)
			}
			return s
		})
		// Nothing the suite did may land outside the stores' prefixes.
		for obj := range client.ListObjects(t.Context(), cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			if !strings.HasPrefix(obj.Key, "store-") || !strings.Contains(obj.Key, "/nested/") {
				t.Errorf("object %q is outside every store's prefix", obj.Key)
			}
		}
	})
	t.Run("bucket-root", func(t *testing.T) {
		artifactstest.Run(t, func(t *testing.T) artifacts.Store {
			cfg, _ := newTestBucket(t)
			s, err := artifacts.NewS3(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if want := "s3://" + cfg.Bucket; s.URI() != want {
				t.Errorf("URI() = %q, want %q", s.URI(), want)
			}
			return s
		})
	})
}

// TestS3ForeignObjects checks that objects written by other tools under
// names that are not keys (folder markers, control characters) are left
// out of List, as a local store leaves out files it cannot address.
func TestS3ForeignObjects(t *testing.T) {
	cfg, client := newTestBucket(t)
	for _, name := range []string{"dir/", "dir/ok", "dir/sub/", "tab\tname", "dir/ctrl\x01"} {
		if _, err := client.PutObject(t.Context(), cfg.Bucket, name, strings.NewReader(""), 0, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put %q: %v", name, err)
		}
	}
	s, err := artifacts.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix    string
		recursive bool
		want      []string
	}{
		{"", true, []string{"dir/ok"}},
		{"dir", true, []string{"dir/ok"}},
		{"dir", false, []string{"dir/ok", "dir/sub/"}},
	}
	for _, tc := range tests {
		infos, err := s.List(t.Context(), tc.prefix, tc.recursive)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, in := range infos {
			if in.Dir {
				got = append(got, in.Key+"/")
			} else {
				got = append(got, in.Key)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("List(%q, %v) = %q, want %q", tc.prefix, tc.recursive, got, tc.want)
		}
	}
}

func TestNewS3Errors(t *testing.T) {
	cfg, _ := newTestBucket(t)
	tests := []struct {
		name string
		edit func(c *artifacts.S3Config)
		want string
	}{
		{"missing bucket", func(c *artifacts.S3Config) { c.Bucket = randomName("yolops-missing-") }, "does not exist"},
		{"wrong secret", func(c *artifacts.S3Config) { c.SecretKey = "wrong-secret-key" }, cfg.Bucket},
		{"scheme in endpoint", func(c *artifacts.S3Config) { c.Endpoint = "http://" + c.Endpoint }, "without scheme"},
		{"bad bucket name", func(c *artifacts.S3Config) { c.Bucket = "Bad_Bucket" }, "Bad_Bucket"},
		{"bad prefix", func(c *artifacts.S3Config) { c.Prefix = "a/../b" }, "a/../b"},
		{"small parts", func(c *artifacts.S3Config) { c.PartSize = 1 << 20 }, "part size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.edit(&c)
			_, err := artifacts.NewS3(t.Context(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewS3: error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestOpenS3 opens a store the way MLflow is pointed at MinIO.
func TestOpenS3(t *testing.T) {
	cfg, _ := newTestBucket(t)
	scheme := "http://"
	if cfg.Secure {
		scheme = "https://"
	}
	t.Setenv("MLFLOW_S3_ENDPOINT_URL", scheme+cfg.Endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", cfg.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", cfg.SecretKey)
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	uri := "s3://" + cfg.Bucket + "/mlruns/1"
	s, err := artifacts.Open(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	if s.URI() != uri {
		t.Errorf("URI() = %q, want %q", s.URI(), uri)
	}
	if err := s.Put(t.Context(), "model/weights.bin", strings.NewReader("w"), 1); err != nil {
		t.Fatal(err)
	}
	// The same object, seen from the bucket's root.
	root, err := artifacts.Open(t.Context(), "s3://"+cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Stat(t.Context(), "mlruns/1/model/weights.bin"); err != nil {
		t.Errorf("Stat from the bucket's root: %v", err)
	}
}
