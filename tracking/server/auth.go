package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/yolops/yolops/tracking"
)

// Permission is what a caller may do, named as MLflow's basic-auth app
// names them. Each permission includes the ones below it.
type Permission int

// The permissions.
const (
	NoPermissions Permission = iota
	Read                     // read anything
	Edit                     // create and change experiments, runs, models; upload artifacts
	Manage                   // delete and restore too
)

var permissionNames = []string{"NO_PERMISSIONS", "READ", "EDIT", "MANAGE"}

func (p Permission) String() string {
	if p >= 0 && int(p) < len(permissionNames) {
		return permissionNames[p]
	}
	return fmt.Sprintf("Permission(%d)", int(p))
}

// ParsePermission parses a permission name (any case).
func ParsePermission(s string) (Permission, error) {
	for i, n := range permissionNames {
		if strings.EqualFold(s, n) {
			return Permission(i), nil
		}
	}
	return 0, fmt.Errorf("permission %q: want one of %s", s, strings.Join(permissionNames, ", "))
}

// AuthConfig is the YAML file that turns authentication on:
//
//	default_permission: NO_PERMISSIONS   # for requests without credentials
//	users:
//	  - username: alice
//	    password_hash: $2a$10$...        # bcrypt: yolops server hash-password
//	    permission: MANAGE
//	  - username: viewer
//	    password_hash: $2a$10$...
//	    permission: READ
//	tokens:
//	  - name: ci                         # who the access log names
//	    sha256: 9f86d08...               # hex SHA-256 of the bearer token: yolops server new-token
//	    permission: EDIT
//
// Clients send users' passwords as HTTP basic credentials (MLflow's
// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) and tokens as
// "Authorization: Bearer <token>" (MLFLOW_TRACKING_TOKEN). The file holds
// no secret in the clear.
type AuthConfig struct {
	DefaultPermission string      `yaml:"default_permission"`
	Users             []AuthUser  `yaml:"users"`
	Tokens            []AuthToken `yaml:"tokens"`
}

// AuthUser is a user of AuthConfig.
type AuthUser struct {
	Username     string `yaml:"username"`
	PasswordHash string `yaml:"password_hash"`
	Permission   string `yaml:"permission"`
}

// AuthToken is a bearer token of AuthConfig.
type AuthToken struct {
	Name       string `yaml:"name"`
	SHA256     string `yaml:"sha256"`
	Permission string `yaml:"permission"`
}

// Auth checks credentials against an AuthConfig.
type Auth struct {
	users     map[string]authUser
	tokens    []authToken
	anonymous Permission

	// cache remembers verified basic credentials, so that bcrypt's
	// deliberate slowness is paid once per credential, not per request.
	// Keys are HMACs under a per-process key: the cache holds no password
	// and nothing a dictionary attack could use.
	mu       sync.Mutex
	cache    map[[sha256.Size]byte]struct{}
	cacheKey []byte
}

type authUser struct {
	hash []byte
	perm Permission
}

type authToken struct {
	name   string
	digest []byte
	perm   Permission
}

// maxCached bounds the credential cache.
const maxCached = 4096

// dummyHash is compared against when a user does not exist, so that the
// answer takes as long as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("yolops-no-such-user"), bcrypt.MinCost)

// LoadAuth reads an AuthConfig file.
func LoadAuth(name string) (*Auth, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("auth config: %w", err)
	}
	return ParseAuthConfig(data, name)
}

// ParseAuthConfig parses an AuthConfig; source names it in errors.
func ParseAuthConfig(data []byte, source string) (*Auth, error) {
	var cfg AuthConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("auth config %s: %w", source, err)
	}
	return NewAuth(cfg, source)
}

// NewAuth checks cfg and returns its Auth; source names it in errors.
func NewAuth(cfg AuthConfig, source string) (*Auth, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("auth config %s: %s", source, fmt.Sprintf(format, args...))
	}
	a := &Auth{users: map[string]authUser{}, cache: map[[sha256.Size]byte]struct{}{}, cacheKey: make([]byte, 32)}
	rand.Read(a.cacheKey)
	if cfg.DefaultPermission != "" {
		p, err := ParsePermission(cfg.DefaultPermission)
		if err != nil {
			return nil, fail("default_permission: %v", err)
		}
		a.anonymous = p
	}
	for i, u := range cfg.Users {
		if u.Username == "" || strings.ContainsAny(u.Username, ":\x00") {
			return nil, fail("users[%d]: username %q: want a non-empty name without ':'", i, u.Username)
		}
		if _, dup := a.users[u.Username]; dup {
			return nil, fail("users[%d]: username %q appears twice", i, u.Username)
		}
		if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			return nil, fail("users[%d] (%s): password_hash: not a bcrypt hash (%v); make one with yolops server hash-password", i, u.Username, err)
		}
		p, err := ParsePermission(u.Permission)
		if err != nil {
			return nil, fail("users[%d] (%s): %v", i, u.Username, err)
		}
		a.users[u.Username] = authUser{hash: []byte(u.PasswordHash), perm: p}
	}
	for i, t := range cfg.Tokens {
		d, err := hex.DecodeString(t.SHA256)
		if err != nil || len(d) != sha256.Size {
			return nil, fail("tokens[%d] (%s): sha256 %q: want 64 hex digits; make one with yolops server new-token", i, t.Name, t.SHA256)
		}
		if t.Name == "" {
			return nil, fail("tokens[%d]: no name", i)
		}
		p, err := ParsePermission(t.Permission)
		if err != nil {
			return nil, fail("tokens[%d] (%s): %v", i, t.Name, err)
		}
		a.tokens = append(a.tokens, authToken{name: t.Name, digest: d, perm: p})
	}
	return a, nil
}

// HashPassword returns the bcrypt hash of a password for AuthConfig.
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", errors.New("password shorter than 8 characters")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// NewToken returns a random bearer token and the SHA-256 that AuthConfig
// keeps of it.
func NewToken() (token, digest string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = "yolops_" + hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	return token, hex.EncodeToString(sum[:])
}

// identity is who made a request and what they may do.
type identity struct {
	name string
	perm Permission
}

type identityKey struct{}

// Identify returns the user a request served by a Server was
// authenticated as ("" when anonymous) and whether that user may change
// experiments, runs and models: the web UI's view of authentication.
func Identify(r *http.Request) (user string, canWrite bool) {
	id := identityOf(r.Context())
	return id.name, id.perm >= Edit
}

func identityOf(ctx context.Context) identity {
	id, _ := ctx.Value(identityKey{}).(identity)
	return id
}

var errBadCredentials = errors.New("You are not authenticated: wrong username, password or token.")

// authenticate identifies a request: anonymous without credentials, an
// error for credentials that do not check out.
func (a *Auth) authenticate(r *http.Request) (identity, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return identity{perm: a.anonymous}, nil
	}
	scheme, cred, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "basic":
		user, pass, ok := r.BasicAuth()
		if !ok {
			return identity{}, errBadCredentials
		}
		u, exists := a.users[user]
		if !a.verify(user, pass, u, exists) {
			return identity{}, errBadCredentials
		}
		return identity{name: user, perm: u.perm}, nil
	case "bearer":
		sum := sha256.Sum256([]byte(strings.TrimSpace(cred)))
		var found *authToken
		for i := range a.tokens {
			// Compare with every token, in constant time.
			if subtle.ConstantTimeCompare(sum[:], a.tokens[i].digest) == 1 {
				found = &a.tokens[i]
			}
		}
		if found == nil {
			return identity{}, errBadCredentials
		}
		return identity{name: found.name, perm: found.perm}, nil
	}
	return identity{}, fmt.Errorf("You are not authenticated: unsupported authorization scheme %q (want Basic or Bearer).", scheme)
}

func (a *Auth) verify(user, pass string, u authUser, exists bool) bool {
	mac := hmac.New(sha256.New, a.cacheKey)
	mac.Write([]byte(user))
	mac.Write([]byte{0})
	mac.Write([]byte(pass))
	var key [sha256.Size]byte
	copy(key[:], mac.Sum(nil))
	a.mu.Lock()
	_, hit := a.cache[key]
	a.mu.Unlock()
	if hit {
		return true
	}
	if !exists {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(pass))
		return false
	}
	if bcrypt.CompareHashAndPassword(u.hash, []byte(pass)) != nil {
		return false
	}
	a.mu.Lock()
	if len(a.cache) >= maxCached {
		clear(a.cache)
	}
	a.cache[key] = struct{}{}
	a.mu.Unlock()
	return true
}

// guard wraps a handler with the permission check.
func (s *Server) guard(need Permission, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.allowed(w, r, need) {
			h.ServeHTTP(w, r)
		}
	})
}

// allowed reports whether the caller may do what needs need, and answers
// the request when not: 401 for anonymous callers (they may have a
// password), 403 for authenticated ones.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request, need Permission) bool {
	who := identityOf(r.Context())
	if who.perm >= need {
		return true
	}
	if who.name == "" {
		unauthenticated(w, "You are not authenticated. Send a username and password (HTTP basic) or a bearer token.")
		return false
	}
	writeError(w, tracking.Errorf(tracking.PermissionDenied, "Permission denied: %s needs %s, user %s has %s.", r.URL.Path, need, who.name, who.perm))
	return false
}

func unauthenticated(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="mlflow"`)
	writeError(w, tracking.Errorf(tracking.Unauthenticated, "%s", msg))
}
