package rest

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/yolops/yolops/tracking"
)

// ProxiedScheme is the scheme of the artifact URIs the server resolves to
// its artifacts destination: a run's artifact_uri is
// mlflow-artifacts:/<experiment id>/<run id>/artifacts when the store's
// default artifact root is mlflow-artifacts:/.
const ProxiedScheme = "mlflow-artifacts"

// CheckArtifactPath checks a client-supplied artifact path as MLflow's
// validate_path_is_safe does, and more: no "..", no absolute path (POSIX
// or Windows), no file: URI, no backslash, '#' or control character, also
// after undoing any further percent-encoding (%2e%2e, %252e%252e), so
// that no request reaches outside the artifacts destination even through a
// backend that decodes names once more. The store's CheckKey applies on
// top of this.
func CheckArtifactPath(p string) error {
	bad := func(why string) error {
		return tracking.Errorf(tracking.InvalidParameterValue, "Invalid path %q: %s", p, why)
	}
	forms := []string{p}
	for d := p; ; {
		u, err := url.PathUnescape(d)
		if err != nil || u == d {
			break
		}
		forms, d = append(forms, u), u
	}
	for _, s := range forms {
		switch {
		case strings.HasPrefix(s, "/"):
			return bad("absolute")
		case len(s) >= 2 && s[1] == ':':
			return bad("a drive or URI scheme")
		case strings.HasPrefix(strings.ToLower(s), "file:"):
			return bad("a file URI")
		}
		for i, c := range s {
			switch {
			case c == '\\':
				return bad("backslash")
			case c == '#':
				return bad("'#'")
			case c < 0x20 || c == 0x7f:
				return bad(fmt.Sprintf("control character at byte %d", i))
			}
		}
		for seg := range strings.SplitSeq(s, "/") {
			if seg == ".." {
				return bad("'..' segment")
			}
		}
	}
	return nil
}

// ProxiedPath returns the key prefix in the artifacts destination of a
// proxied artifact URI (mlflow-artifacts:/1/abc/artifacts ->
// 1/abc/artifacts), or false when the URI is not one the server resolves.
func ProxiedPath(uri string) (string, bool) {
	var p string
	switch {
	case strings.HasPrefix(uri, ProxiedScheme+":"):
		u, err := url.Parse(uri)
		if err != nil {
			return "", false
		}
		p = u.Path
		if u.Opaque != "" {
			p = u.Opaque
		}
	case strings.HasPrefix(uri, "http://"), strings.HasPrefix(uri, "https://"):
		// An artifact URI spelled as this API's URL.
		u, err := url.Parse(uri)
		if err != nil {
			return "", false
		}
		_, after, ok := strings.Cut(u.Path, APIPrefix+ArtifactsPath)
		if !ok {
			return "", false
		}
		p = after
	default:
		return "", false
	}
	p = strings.Trim(p, "/")
	if CheckArtifactPath(p) != nil {
		return "", false
	}
	return p, true
}
