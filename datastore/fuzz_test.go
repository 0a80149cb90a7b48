package datastore

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func FuzzParseDVCFile(f *testing.F) {
	f.Add([]byte("outs:\n- md5: 0cc175b9c0f1b6a831c399e269772661.dir\n  size: 1\n  nfiles: 1\n  hash: md5\n  path: data\n"))
	f.Add([]byte("outs:\n- md5: 0cc175b9c0f1b6a831c399e269772661\n  size: 7\n  isexec: true\n  hash: md5\n  path: 'yes'\n  desc: x # c\n"))
	f.Add([]byte("outs:\n- md5: 12345678901234567890123456789012\n  path: a\n"))
	f.Add([]byte("md5: x\nouts: []\n"))
	f.Add([]byte("outs: [{path: a, md5: null, hash: md5}]\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		df, err := ParseDVCFile("f.dvc", data)
		if err != nil {
			return
		}
		// A file that parses can be updated (or says why not), and what
		// yolops writes parses back to the same outputs.
		o := df.Outs[0]
		o.MD5, o.Size, o.Hash = "0cc175b9c0f1b6a831c399e269772661", 1, "md5"
		out, err := df.Update(0, o)
		if err != nil {
			return
		}
		back, err := ParseDVCFile("f.dvc", out)
		if err != nil {
			t.Fatalf("updated file does not parse: %v\n%q\n->\n%q", err, data, out)
		}
		if back.Outs[0].MD5 != o.MD5 || back.Outs[0].Size != 1 || back.Outs[0].Path != o.Path {
			t.Fatalf("updated file reads back as %+v, want %+v\n%q", back.Outs[0], o, out)
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("[core]\n    remote = myremote\n['remote \"myremote\"']\n    url = /tmp/dvcstore\n"))
	f.Add([]byte("# c\n[core]\nremote=r  # inline\n['remote \"r\"']\nurl = \"a b\"\n"))
	f.Add([]byte("[cache]\n    type = reflink, copy\n    dir = '''odd 'n \" value'''\n"))
	f.Add([]byte("[a]\n    empty =\n    comma = ,\n    one = x,\n    m = '''multi\nline'''\n"))
	f.Add([]byte("[[nested]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("config", data)
		if err != nil {
			return
		}
		out, err := c.Bytes()
		if err != nil {
			return // a value configobj cannot quote either
		}
		back, err := ParseConfig("config", out)
		if err != nil {
			t.Fatalf("written config does not parse: %v\n%q\n->\n%q", err, data, out)
		}
		again, err := back.Bytes()
		if err != nil || string(again) != string(out) {
			t.Fatalf("config does not round-trip:\n%q\n%q", out, again)
		}
		for _, s := range c.Sections {
			if len(s.Keys) == 0 {
				continue
			}
			bs := back.Section(s.Name)
			if bs == nil {
				t.Fatalf("section %q lost:\n%q", s.Name, out)
			}
			for i, kv := range s.Keys {
				got := bs.Keys[i]
				if got.Key != kv.Key || got.IsList != kv.IsList || got.Value != kv.Value || strings.Join(got.List, "\x00") != strings.Join(kv.List, "\x00") {
					t.Fatalf("[%s] %+v read back as %+v\n%q", s.Name, kv, got, out)
				}
			}
		}
	})
}

// FuzzYAMLValue checks the ruamel-style emitter against a YAML parser:
// whatever the path, the .dvc file must read back to the same string.
func FuzzYAMLValue(f *testing.F) {
	for _, s := range []string{"data", "my data", "yes", "123", "- x", "it's", "tab\there", "", "a: b", "#x",
		strings.Repeat("word ", 30), "emoji \U0001F600\twith tab", "ends:", "x\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Names that cannot be written at all, and the line breaks that
		// ruamel writes raw (see TestDVCFileBytesMatchRuamel), are left out.
		if !validUTF8NoNUL(s) || strings.ContainsAny(s, "\u0085\u2028\u2029") {
			return
		}
		doc := "path:" + yamlValue(s, 5, 2) + "\n"
		var v struct{ Path string }
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("%q: %v\n%s", s, err, doc)
		}
		if v.Path != s {
			t.Fatalf("%q reads back as %q\n%s", s, v.Path, doc)
		}
	})
}

func validUTF8NoNUL(s string) bool {
	return strings.ToValidUTF8(s, "\uFFFD") == s && !strings.ContainsRune(s, 0)
}

// FuzzParseManifest feeds .dir objects as a remote could hold them.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`[{"md5": "0cc175b9c0f1b6a831c399e269772661", "relpath": "a/b"}]`))
	f.Add([]byte(`[{"md5": "0cc175b9c0f1b6a831c399e269772661", "relpath": "\u00e9 \ud834\udd1e"}, {"md5": "92eb5ffee6ae2fec3ad71c777531578f", "relpath": "A"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"md5": "x", "relpath": "../a"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		for _, e := range m {
			if checkRelPath(e.RelPath) != nil || strings.Contains("/"+e.RelPath+"/", "/../") {
				t.Fatalf("accepted unsafe path %q", e.RelPath)
			}
		}
		back, err := ParseManifest(m.Bytes())
		if err != nil {
			t.Fatalf("own bytes do not parse: %v\n%s", err, m.Bytes())
		}
		if string(back.Bytes()) != string(m.Bytes()) || back.Hash() != m.Hash() {
			t.Fatalf("not stable:\n%s\n%s", m.Bytes(), back.Bytes())
		}
	})
}
