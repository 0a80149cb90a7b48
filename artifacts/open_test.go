package artifacts

import (
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenLocal(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tests := []struct {
		uri, dir string
	}{
		{"rel/store", filepath.Join(dir, "rel", "store")},
		{filepath.Join(dir, "abs"), filepath.Join(dir, "abs")},
		{"file://" + dir + "/u", filepath.Join(dir, "u")},
		{"file:" + dir + "/v", filepath.Join(dir, "v")},
		{"file://localhost" + dir + "/w", filepath.Join(dir, "w")},
		{"file://" + dir + "/with%20space", filepath.Join(dir, "with space")},
		{"odd:name", filepath.Join(dir, "odd:name")}, // no "://": a path
	}
	for _, tc := range tests {
		s, err := Open(t.Context(), tc.uri)
		if err != nil {
			t.Errorf("Open(%q): %v", tc.uri, err)
			continue
		}
		l, ok := s.(*Local)
		if !ok || l.Dir() != tc.dir {
			t.Errorf("Open(%q) = %#v, want a local store in %s", tc.uri, s, tc.dir)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"", "empty URI"},
		{"file://host/x", `host "host"`},
		{"file:relative", "absolute path"},
		{"gs://bucket/x", `unsupported scheme "gs"`},
		{"http://host/x", `unsupported scheme "http"`},
		{"s3://", "no bucket"},
		{"s3:///prefix", "no bucket"},
		{"s3://bucket/p?versionId=1", "no user, query or fragment"},
		{"s3://user@bucket/p", "no user, query or fragment"},
		{"s3://bucket/a/../b", "a/../b"},
		{"s3://Bad_Bucket/p", "Bad_Bucket"},
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "MLFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:1"}
	for _, tc := range tests {
		_, err := openEnv(t.Context(), tc.uri, func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q): error %v, want one containing %q", tc.uri, err, tc.want)
		}
	}
}

func TestS3ConfigFromEnv(t *testing.T) {
	// No shared credentials file from the machine running the test.
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	base := map[string]string{"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"}
	tests := []struct {
		name string
		uri  string
		env  map[string]string
		want S3Config
		err  string
	}{
		{
			name: "AWS by default",
			uri:  "s3://bucket/a/b/", env: base,
			want: S3Config{Endpoint: "s3.amazonaws.com", Secure: true, Bucket: "bucket", Prefix: "a/b", AccessKey: "AK", SecretKey: "SK"},
		},
		{
			name: "MinIO as MLflow is pointed at it",
			uri:  "s3://mlflow",
			env: with(base, map[string]string{
				"MLFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_DEFAULT_REGION": "eu-west-1",
				"AWS_SESSION_TOKEN": "T", "AWS_REGION": "ignored",
			}),
			want: S3Config{Endpoint: "127.0.0.1:9000", Bucket: "mlflow", AccessKey: "AK", SecretKey: "SK", SessionToken: "T", Region: "eu-west-1"},
		},
		{
			name: "https endpoint, TLS unchecked, AWS_REGION",
			uri:  "s3://b/p",
			env: with(base, map[string]string{
				"MLFLOW_S3_ENDPOINT_URL": "https://minio.internal:9443/", "MLFLOW_S3_IGNORE_TLS": "TRUE", "AWS_REGION": "r",
			}),
			want: S3Config{Endpoint: "minio.internal:9443", Secure: true, SkipVerify: true, Bucket: "b", Prefix: "p", AccessKey: "AK", SecretKey: "SK", Region: "r"},
		},
		{
			name: "MLFLOW_S3_IGNORE_TLS=0",
			uri:  "s3://b", env: with(base, map[string]string{"MLFLOW_S3_IGNORE_TLS": "0"}),
			want: S3Config{Endpoint: "s3.amazonaws.com", Secure: true, Bucket: "b", AccessKey: "AK", SecretKey: "SK"},
		},
		{name: "endpoint without scheme", uri: "s3://b", env: with(base, map[string]string{"MLFLOW_S3_ENDPOINT_URL": "127.0.0.1:9000"}), err: "MLFLOW_S3_ENDPOINT_URL"},
		{name: "endpoint with path", uri: "s3://b", env: with(base, map[string]string{"MLFLOW_S3_ENDPOINT_URL": "http://h:1/x"}), err: "MLFLOW_S3_ENDPOINT_URL"},
		{name: "endpoint ftp", uri: "s3://b", env: with(base, map[string]string{"MLFLOW_S3_ENDPOINT_URL": "ftp://h"}), err: "MLFLOW_S3_ENDPOINT_URL"},
		{name: "bad boolean", uri: "s3://b", env: with(base, map[string]string{"MLFLOW_S3_IGNORE_TLS": "yes"}), err: "MLFLOW_S3_IGNORE_TLS"},
		{name: "half the keys", uri: "s3://b", env: map[string]string{"AWS_ACCESS_KEY_ID": "AK"}, err: "AWS_SECRET_ACCESS_KEY"},
		{
			name: "no keys: anonymous",
			uri:  "s3://public", env: map[string]string{},
			want: S3Config{Endpoint: "s3.amazonaws.com", Secure: true, Bucket: "public"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s3ConfigFromEnv(mustParse(t, tc.uri), func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

// TestS3ConfigCredentialsFile checks the fallback boto3 also takes when
// the keys are not in the environment.
func TestS3ConfigCredentialsFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "credentials")
	ini := "[default]\naws_access_key_id = FILEAK\naws_secret_access_key = FILESK\n[other]\naws_access_key_id = OTHER\naws_secret_access_key = OTHERSK\n"
	if err := os.WriteFile(file, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
	t.Setenv("AWS_PROFILE", "other")
	got, err := s3ConfigFromEnv(mustParse(t, "s3://b"), func(string) string { return "" })
	if err != nil || got.AccessKey != "OTHER" || got.SecretKey != "OTHERSK" {
		t.Errorf("got %+v, %v; want the keys of profile other", got, err)
	}
}

func with(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

func mustParse(t *testing.T, uri string) *url.URL {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
