package main

import (
	"bufio"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// No Docker engine runs where the tests do, so deploy/ is checked here
// for what can be checked without one: the compose file parses, its
// services fit together (ports, bucket, credentials, database URI,
// dependencies), every flag it passes to yolops server exists, every
// variable it needs is in .env.example, the Dockerfile builds the
// command's package statically and .dockerignore keeps what the build
// needs.

const deployDir = "../../deploy"

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
	} `yaml:"healthcheck"`
	Restart string `yaml:"restart"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// envExample reads deploy/.env.example.
func envExample(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(deployDir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf(".env.example:%d: %q is not KEY=value", n, line)
		}
		env[k] = v
	}
	return env
}

// interpolation is compose's ${VAR}, ${VAR:-default}, ${VAR:?error} ($$
// is a literal $).
var interpolation = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// interpolate substitutes as compose would with env, reporting variables
// that are neither set nor defaulted.
func interpolate(s string, env map[string]string, missing map[string]bool) string {
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := interpolation.FindStringSubmatch(m)
		if v, ok := env[sub[1]]; ok && v != "" {
			return v
		}
		if strings.HasSuffix(sub[2], "-") {
			return sub[3]
		}
		missing[sub[1]] = true
		return ""
	})
}

func loadCompose(t *testing.T) (composeFile, map[string]bool) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deployDir, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	missing := map[string]bool{}
	text := interpolate(string(raw), envExample(t), missing)
	var cf composeFile
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true) // a misspelt key is an error, as compose's schema makes it
	if err := dec.Decode(&cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return cf, missing
}

func TestComposeFile(t *testing.T) {
	cf, missing := loadCompose(t)
	if len(missing) > 0 {
		t.Errorf("variables docker-compose.yml needs that .env.example does not set: %v", missing)
	}
	for _, name := range []string{"postgres", "minio", "minio-init", "yolops"} {
		if _, ok := cf.Services[name]; !ok {
			t.Fatalf("no %s service", name)
		}
	}
	pg, minio, initc, yo := cf.Services["postgres"], cf.Services["minio"], cf.Services["minio-init"], cf.Services["yolops"]

	// Named volumes are declared; postgres and minio keep their data in one.
	for name, s := range cf.Services {
		switch s.Restart {
		case "", "no", "always", "on-failure", "unless-stopped":
		default:
			t.Errorf("service %s: restart %q is not a compose restart policy", name, s.Restart)
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				if _, ok := cf.Volumes[src]; !ok {
					t.Errorf("service %s mounts volume %q, not declared under volumes", name, src)
				}
			}
		}
	}
	if pg.Image != "postgres:15" || !slices.ContainsFunc(pg.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/var/lib/postgresql/data") }) {
		t.Errorf("postgres: image %q, volumes %v", pg.Image, pg.Volumes)
	}
	if !slices.ContainsFunc(minio.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/data") }) || !slices.Contains(minio.Command, "/data") {
		t.Errorf("minio: its data folder is not on a volume: command %v, volumes %v", minio.Command, minio.Volumes)
	}
	for name, s := range map[string]composeService{"postgres": pg, "minio": minio} {
		if s.Healthcheck == nil || len(s.Healthcheck.Test) == 0 || s.Healthcheck.Retries < 1 {
			t.Errorf("%s has no healthcheck", name)
			continue
		}
		for _, d := range []string{s.Healthcheck.Interval, s.Healthcheck.Timeout, s.Healthcheck.StartPeriod} {
			if _, err := time.ParseDuration(d); d != "" && err != nil {
				t.Errorf("%s healthcheck: %v", name, err)
			}
		}
	}
	if i := slices.Index(minio.Command, "--console-address"); i < 0 || i+1 >= len(minio.Command) || !published(minio.Ports, strings.TrimPrefix(minio.Command[i+1], ":")) {
		t.Errorf("minio: the console port is not published (command %v, ports %v)", minio.Command, minio.Ports)
	}
	if !published(minio.Ports, "9000") {
		t.Errorf("minio: the S3 port 9000 is not published: %v", minio.Ports)
	}

	// The bucket minio-init creates is the one yolops writes to.
	if initc.DependsOn["minio"].Condition != "service_healthy" {
		t.Errorf("minio-init does not wait for a healthy minio: %+v", initc.DependsOn)
	}
	script := strings.Join(initc.Entrypoint, " ")
	mb := regexp.MustCompile(`mc mb (?:--ignore-existing )?local/([a-z0-9.-]+)`).FindStringSubmatch(script)
	if mb == nil {
		t.Fatalf("minio-init does not create a bucket: %q", script)
	}
	if !strings.Contains(script, "http://minio:9000") {
		t.Errorf("minio-init does not reach the minio service: %q", script)
	}

	// yolops server: built from deploy/Dockerfile, every flag real, and
	// each one consistent with the service it names.
	if yo.Build == nil || filepath.Join(deployDir, yo.Build.Context, yo.Build.Dockerfile) != filepath.Join(deployDir, "Dockerfile") {
		t.Errorf("yolops is not built from deploy/Dockerfile: %+v", yo.Build)
	}
	if len(yo.Command) == 0 || yo.Command[0] != "server" {
		t.Fatalf("yolops command %v: want server ...", yo.Command)
	}
	server, _, err := newRootCmd("test").Find([]string{"server"})
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]string{}
	for i := 1; i < len(yo.Command); i++ {
		arg := yo.Command[i]
		if !strings.HasPrefix(arg, "--") {
			t.Fatalf("yolops command: %q is not a flag", arg)
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		f := server.Flags().Lookup(name)
		if f == nil {
			t.Errorf("yolops server has no --%s flag (yolops server --help)", name)
			continue
		}
		if !hasValue && f.Value.Type() != "bool" {
			i++
			value = yo.Command[i]
		}
		if err := f.Value.Set(value); err != nil {
			t.Errorf("yolops server --%s %q: %v", name, value, err)
		}
		flags[name] = value
	}
	if flags["host"] != "0.0.0.0" {
		t.Errorf("yolops listens on %q, not on every interface: unreachable from the host", flags["host"])
	}
	if !published(yo.Ports, flags["port"]) {
		t.Errorf("yolops port %s is not published: %v", flags["port"], yo.Ports)
	}
	if dest := flags["artifacts-destination"]; dest != "s3://"+mb[1]+"/" {
		t.Errorf("--artifacts-destination %q, but minio-init creates bucket %q", dest, mb[1])
	}
	db, err := url.Parse(flags["backend-store-uri"])
	if err != nil {
		t.Fatalf("--backend-store-uri: %v", err)
	}
	pass, _ := db.User.Password()
	if db.Scheme != "postgresql" || db.Hostname() != "postgres" || db.Port() != "5432" ||
		db.User.Username() != pg.Environment["POSTGRES_USER"] || pass != pg.Environment["POSTGRES_PASSWORD"] ||
		strings.TrimPrefix(db.Path, "/") != pg.Environment["POSTGRES_DB"] {
		t.Errorf("--backend-store-uri %s does not name the postgres service's database and user", db.Redacted())
	}
	ep, err := url.Parse(yo.Environment["MLFLOW_S3_ENDPOINT_URL"])
	if err != nil || ep.Host != "minio:9000" {
		t.Errorf("MLFLOW_S3_ENDPOINT_URL %q: want http://minio:9000", yo.Environment["MLFLOW_S3_ENDPOINT_URL"])
	}
	if yo.Environment["AWS_ACCESS_KEY_ID"] != minio.Environment["MINIO_ROOT_USER"] || yo.Environment["AWS_SECRET_ACCESS_KEY"] != minio.Environment["MINIO_ROOT_PASSWORD"] ||
		yo.Environment["AWS_ACCESS_KEY_ID"] == "" {
		t.Error("yolops' AWS credentials are not MinIO's")
	}
	if len(minio.Environment["MINIO_ROOT_PASSWORD"]) < 8 {
		t.Error("the example MinIO password is shorter than the 8 characters MinIO requires")
	}
	if yo.DependsOn["postgres"].Condition != "service_healthy" || yo.DependsOn["minio-init"].Condition != "service_completed_successfully" {
		t.Errorf("yolops starts before its store and bucket are ready: %+v", yo.DependsOn)
	}
}

// published reports whether a container port is published by one of the
// "host:container" entries.
func published(ports []string, container string) bool {
	for _, p := range ports {
		if i := strings.LastIndex(p, ":"); i >= 0 && p[i+1:] == container {
			return true
		}
	}
	return false
}

func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(deployDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := strings.ReplaceAll(string(raw), "\\\n", " ")
	goMod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
	from := regexp.MustCompile(`(?m)^FROM golang:(\d+\.\d+)\S* AS build$`).FindStringSubmatch(df)
	if from == nil || goVersion == nil || from[1] != string(goVersion[1]) {
		t.Errorf("the build stage's Go (%v) is not go.mod's (%s)", from, goVersion)
	}
	build := regexp.MustCompile(`(?m)^RUN .*CGO_ENABLED=0 go build .*-o (\S+) \./cmd/yolops$`).FindStringSubmatch(df)
	if build == nil {
		t.Fatal("no static build of ./cmd/yolops (CGO_ENABLED=0 go build ... -o OUT ./cmd/yolops)")
	}
	cp := regexp.MustCompile(`(?m)^COPY --from=build (\S+) (\S+)$`).FindStringSubmatch(df)
	if cp == nil || cp[1] != build[1] {
		t.Fatalf("the final stage does not copy the binary built at %s", build[1])
	}
	if !strings.Contains(df, `ENTRYPOINT ["`+cp[2]+`"]`) {
		t.Errorf("ENTRYPOINT is not the binary copied to %s", cp[2])
	}
	if !strings.Contains(df, "FROM gcr.io/distroless/static") {
		t.Error("the final stage is not distroless static: a CGO_ENABLED=0 binary needs nothing more")
	}
}

// TestDockerignore checks that the build context keeps what go build
// needs: go.mod, go.sum, the command, and the files go:embed reads.
func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			if strings.HasPrefix(l, "!") {
				t.Fatalf(".dockerignore: exceptions (%q) are not handled by this test", l)
			}
			patterns = append(patterns, strings.TrimPrefix(l, "/"))
		}
	}
	ignored := func(p string) bool {
		for _, pat := range patterns {
			for q := p; q != "."; q = path.Dir(q) { // a pattern matching a parent excludes the file
				if dockerMatch(pat, q) {
					return true
				}
			}
		}
		return false
	}
	need := []string{"go.mod", "go.sum", "cmd/yolops/main.go", "cmd/yolops/promote.go", "promote/promote.go",
		"web/static", "web/templates", "dataset/coco128.yaml", "dataset/coco128.sha256", "tensor/gemm"}
	for _, p := range need {
		if ignored(p) {
			t.Errorf(".dockerignore leaves %s out of the build context", p)
		}
	}
	for _, p := range []string{".git", "yolo/testdata/ref/yolov8n_seed0.pt", "web/ui/node_modules/x", "deploy/.env", "promote/promote_test.go", "plots.test"} {
		if !ignored(p) {
			t.Errorf(".dockerignore sends %s to the builder", p)
		}
	}
}

// dockerMatch matches a .dockerignore pattern as Docker does for the
// forms used here: path.Match per segment, and "**/" for any folders.
func dockerMatch(pattern, p string) bool {
	if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
		segs := strings.Split(p, "/")
		for i := range segs {
			if dockerMatch(rest, strings.Join(segs[i:], "/")) {
				return true
			}
		}
		return false
	}
	ok, _ := path.Match(pattern, p)
	return ok
}
