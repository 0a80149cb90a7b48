package pipeline

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseRecords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // substring of the error; "" for success
	}{
		{`{"kind":"json","hash":"sha256:ab","uri":"/r/outputs/x.json","size":3}`, ""},
		{`{"kind":"dir","hash":"sha256:ab.dir","uri":"s3://b/outputs/d","size":0}`, ""},
		{`{"kind":"blob","hash":"sha256:ab","uri":"u","size":3}`, `unknown kind "blob"`},
		{`{"kind":"file","hash":"md5:ab","uri":"u","size":3}`, "not sha256"},
		{`{"kind":"file","hash":"sha256:ab","size":3}`, "no uri"},
		{`{"kind":"file","hash":"sha256:ab","uri":"u","size":-1}`, "negative size"},
		{`{"kind":"file","hash":"sha256:ab","uri":"u","size":1,"extra":1}`, "unknown field"},
		{`{"kind":"file","hash":"sha256:ab","uri":"u","size":1} {}`, "trailing data"},
		{`{"kind":"file","hash":"sha256:ab","uri":"u","size":1}}`, "trailing data"},
		{`[]`, "cannot unmarshal"},
		{``, "EOF"},
	} {
		_, err := ParseArtifact(tc.in)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseArtifact(%s): %v, want %q", tc.in, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want string
	}{
		{`{"step":"load","run_id":"abc","output":"text","kind":"json","hash":"sha256:1"}`, ""},
		{`{"source":"/data","kind":"dir","hash":"22a1.dir"}`, ""},
		{`{"source":"/data","step":"load","run_id":"abc","output":"text","kind":"dir","hash":"h"}`, "either a source or a step"},
		{`{"kind":"dir","hash":"h"}`, "either a source or a step"},
		{`{"step":"load","kind":"json","hash":"h"}`, "needs its run_id and output"},
		{`{"source":"/d","kind":"json"}`, "no hash"},
		{`{"source":"/d","kind":"","hash":"h"}`, "unknown kind"},
	} {
		_, err := ParseArtifactRef(tc.in)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseArtifactRef(%s): %v, want %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParseRecords: the parsers of tags read back from a tracking store
// (which anyone with the MLflow API can edit) never panic, and what they
// accept encodes back to something they read the same.
func FuzzParseRecords(f *testing.F) {
	for _, s := range []string{
		`{"kind":"json","hash":"sha256:ab","uri":"/r/outputs/x.json","size":3}`,
		`{"step":"load","run_id":"abc","output":"text","kind":"json","hash":"sha256:1"}`,
		`{"source":"/data","kind":"dir","hash":"22a1.dir"}`,
		`["load","train"]`, `[]`, `null`, `{"kind":1}`, `[""]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, err := ParseArtifact(s); err == nil {
			b, err := ParseArtifact(mustJSON(a))
			if err != nil || b != a {
				t.Errorf("artifact %+v re-read as %+v, %v", a, b, err)
			}
		}
		if r, err := ParseArtifactRef(s); err == nil {
			b, err := ParseArtifactRef(mustJSON(r))
			if err != nil || b != r {
				t.Errorf("ref %+v re-read as %+v, %v", r, b, err)
			}
		}
		if up, err := parseUpstream(s); err == nil {
			b, err := parseUpstream(mustJSON(up))
			if err != nil || (len(up) > 0 || len(b) > 0) && !reflect.DeepEqual(b, up) {
				t.Errorf("upstream %q re-read as %q, %v", up, b, err)
			}
		}
	})
}
