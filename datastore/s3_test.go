package datastore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestS3Remote pushes to and pulls from a MinIO bucket configured as DVC
// configures one (url, endpointurl, keys in config.local), with the
// server .ci/minio.sh starts:
//
//	eval "$(bash .ci/minio.sh start)"; go test ./datastore/
//
// Without it the test is skipped, except under CI=true.
func TestS3Remote(t *testing.T) {
	ep := os.Getenv("YOLOPS_TEST_S3_ENDPOINT")
	if ep == "" {
		msg := `YOLOPS_TEST_S3_ENDPOINT is unset, so there is no S3 server to test against; start one with: eval "$(bash .ci/minio.sh start)"`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: the S3 test may not be skipped)")
		}
		t.Skip(msg)
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		t.Fatalf("YOLOPS_TEST_S3_ENDPOINT=%q: want http(s)://host:port", ep)
	}
	access, secret := os.Getenv("YOLOPS_TEST_S3_ACCESS_KEY"), os.Getenv("YOLOPS_TEST_S3_SECRET_KEY")
	client, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Secure: u.Scheme == "https"})
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	bucket := "datastore-" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for obj := range client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			client.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{})
		}
		client.RemoveBucket(ctx, bucket)
	})

	r := newRepo(t)
	dir := addPerson(t, r)
	if err := r.AddRemote("minio", "s3://"+bucket+"/dvc/store", true, false, false); err != nil {
		t.Fatal(err)
	}
	if err := r.ModifyRemote("minio", "endpointurl", ep, false, false); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"access_key_id": access, "secret_access_key": secret} {
		if err := r.ModifyRemote("minio", k, v, false, true); err != nil {
			t.Fatal(err)
		}
	}
	r, err = Open(r.Root)
	if err != nil {
		t.Fatal(err)
	}
	opt := TransferOptions{Open: OpenRemote}
	res, err := r.Push(ctx, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Transferred != 6 {
		t.Errorf("push: %+v", res)
	}
	// DVC 3's layout under the prefix, and nothing else.
	var keys []string
	for obj := range client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	var want []string
	for _, c := range personFiles {
		sum := md5hex(c)
		want = append(want, "dvc/store/files/md5/"+sum[:2]+"/"+sum[2:])
	}
	f, _ := ParseDVCFile("x", []byte(readFile(t, dir+".dvc")))
	m := f.Outs[0].MD5
	want = append(want, "dvc/store/files/md5/"+m[:2]+"/"+m[2:])
	sort.Strings(want)
	want = dedupe(want)
	if !equalStrings(keys, want) {
		t.Errorf("bucket keys\n%v\nwant\n%v", keys, want)
	}
	obj, err := client.GetObject(ctx, bucket, "dvc/store/files/md5/"+md5hex("jpeg a")[:2]+"/"+md5hex("jpeg a")[2:], minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := io.ReadAll(obj); string(data) != "jpeg a" {
		t.Errorf("object content %q", data)
	}
	if res, err := r.Push(ctx, nil, opt); err != nil || res.Transferred != 0 {
		t.Errorf("second push: %+v %v", res, err)
	}

	c := clone(t, r)
	// config.local is not in git: give the clone its keys as the
	// environment would.
	t.Setenv("AWS_ACCESS_KEY_ID", access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	if _, _, err := c.Pull(ctx, nil, opt, false); err != nil {
		t.Fatal(err)
	}
	for name, content := range personFiles {
		if got := readFile(t, filepath.Join(c.Root, "data", "person", filepath.FromSlash(name))); got != content {
			t.Errorf("pulled %s = %q", name, got)
		}
	}
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
