package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking/rest"
	"github.com/yolops/yolops/tracking/server"
	"github.com/yolops/yolops/tracking/sqlstore"
	"github.com/yolops/yolops/web"
)

// serverOptions are the flags of yolops server, named as mlflow server's.
type serverOptions struct {
	backend, defaultRoot, dest string
	host                       string
	port                       int
	authConfig                 string
	logFormat                  string
	noServeArtifacts           bool
	maxBody                    int64
	shutdownTimeout            time.Duration
}

// envOr returns the environment variable's value, else def.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newServerCmd() *cobra.Command {
	o := serverOptions{maxBody: server.DefaultMaxBodyBytes, shutdownTimeout: 30 * time.Second}
	port, err := strconv.Atoi(envOr("MLFLOW_PORT", "5000"))
	if err != nil {
		port = 5000
	}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the MLflow-compatible tracking server",
		Long: `Serve MLflow's REST API 2.0 (tracking, model registry and proxied
artifacts) over a SQLite or PostgreSQL store, as 'mlflow server
--serve-artifacts' does: MLflow clients (Python's mlflow, npm's mlflow,
yolops train --tracking-uri http://...) work against it unchanged.

Runs get artifact URIs mlflow-artifacts:/<experiment>/<run>/artifacts,
which resolve to --artifacts-destination (a folder, or s3://bucket/prefix
with MLFLOW_S3_ENDPOINT_URL and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
for MinIO). Uploads and downloads stream; their size is not limited.

--auth-config turns on authentication (HTTP basic users with bcrypt
password hashes, bearer tokens kept as SHA-256 digests, permissions
READ, EDIT or MANAGE); 'yolops server hash-password' and 'yolops server
new-token' make the entries. Each request is logged on stderr.
SIGINT or SIGTERM stops the server after the requests under way finish.

Flags default to mlflow server's environment variables where it has one
(MLFLOW_BACKEND_STORE_URI, MLFLOW_DEFAULT_ARTIFACT_ROOT,
MLFLOW_ARTIFACTS_DESTINATION, MLFLOW_HOST, MLFLOW_PORT).`,
		Example: `  yolops server
  yolops server --backend-store-uri postgresql://mlflow:pw@127.0.0.1/mlflow --artifacts-destination s3://mlflow/artifacts
  yolops server --host 0.0.0.0 --port 8080 --auth-config auth.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.backend, "backend-store-uri", envOr("MLFLOW_BACKEND_STORE_URI", "sqlite:///"+"mlruns.db"),
		"where runs are kept: sqlite:///relative.db, sqlite:////absolute.db or postgresql://user:pass@host:port/db")
	f.StringVar(&o.defaultRoot, "default-artifact-root", envOr("MLFLOW_DEFAULT_ARTIFACT_ROOT", rest.ProxiedScheme+":/"),
		"artifact root of new experiments (the default proxies artifacts through this server)")
	f.StringVar(&o.dest, "artifacts-destination", envOr("MLFLOW_ARTIFACTS_DESTINATION", "./mlartifacts"),
		"where proxied artifacts are stored: a folder or s3://bucket/prefix")
	o.port = port
	f.BoolVar(&o.noServeArtifacts, "no-serve-artifacts", false, "disable the proxied artifact endpoints")
	f.StringVar(&o.host, "host", envOr("MLFLOW_HOST", "127.0.0.1"), "address to listen on (0.0.0.0 for every interface)")
	f.Var(checkedInt{p: &o.port, check: func(n int) error {
		if n < 0 || n > 65535 {
			return fmt.Errorf("port %d: want 0-65535 (0 picks a free one)", n)
		}
		return nil
	}}, "port", "port to listen on (0 picks a free one)")
	f.StringVar(&o.authConfig, "auth-config", "", "YAML file of users and tokens; without it there is no authentication")
	f.StringVar(&o.logFormat, "log-format", "text", "access log format on stderr: text, json or none")
	f.Var(checkedDuration{p: &o.shutdownTimeout, check: func(d time.Duration) error {
		if d <= 0 {
			return errors.New("want a positive duration")
		}
		return nil
	}}, "shutdown-timeout", "how long SIGINT/SIGTERM waits for requests under way")
	cmd.AddCommand(newHashPasswordCmd(), newNewTokenCmd())
	return cmd
}

func runServer(ctx context.Context, o serverOptions, stderr io.Writer) error {
	var logger *slog.Logger
	switch o.logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	case "json":
		logger = slog.New(slog.NewJSONHandler(stderr, nil))
	case "none":
	default:
		return fmt.Errorf("--log-format %q: want text, json or none", o.logFormat)
	}
	cfg := server.Config{Logger: logger, MaxBodyBytes: o.maxBody}
	if o.authConfig != "" {
		auth, err := server.LoadAuth(o.authConfig)
		if err != nil {
			return err
		}
		cfg.Auth = auth
	}
	if !o.noServeArtifacts {
		arts, err := artifacts.Open(ctx, o.dest)
		if err != nil {
			return fmt.Errorf("--artifacts-destination: %w", err)
		}
		cfg.Artifacts = arts
	}
	st, err := sqlstore.Open(ctx, o.backend, sqlstore.WithDefaultArtifactRoot(o.defaultRoot))
	if err != nil {
		return fmt.Errorf("--backend-store-uri: %w", err)
	}
	defer st.Close()
	cfg.Store = st
	uiOpts := web.Options{Store: st, Logger: logger}
	if cfg.Artifacts != nil {
		uiOpts.ArtifactRoots = []web.ArtifactRoot{{Prefix: "mlflow-artifacts:/", Store: cfg.Artifacts}}
	}
	if cfg.Auth != nil {
		uiOpts.Identify = server.Identify
	}
	if cfg.UI, err = web.New(uiOpts); err != nil {
		return err
	}
	h, err := server.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.host, strconv.Itoa(o.port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler: h,
		// Slow clients may not hold connections open without sending
		// headers; bodies (artifact uploads) may take as long as they need.
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(slog.NewTextHandler(stderr, nil), slog.LevelWarn),
	}
	auth := "off"
	if cfg.Auth != nil {
		auth = o.authConfig
	}
	dest := o.dest
	if o.noServeArtifacts {
		dest = "(not served)"
	}
	fmt.Fprintf(stderr, "yolops server listening on http://%s\n  backend store: %s\n  artifacts: %s\n  authentication: %s\n",
		ln.Addr(), redactURI(o.backend), dest, auth)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "yolops server: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// redactURI hides the password of a database URI.
func redactURI(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return uri
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return uri
	}
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return uri
}

func newHashPasswordCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "hash-password",
		Short:   "Print the bcrypt hash of a password read from stdin, for --auth-config",
		Example: `  printf '%s\n' 'a long passphrase' | yolops server hash-password`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && !(errors.Is(err, io.EOF) && line != "") {
				return fmt.Errorf("read the password from stdin: %w", err)
			}
			hash, err := server.HashPassword(strings.TrimRight(line, "\r\n"))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), hash)
			return nil
		},
	}
}

func newNewTokenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "new-token",
		Short: "Print a new bearer token and the SHA-256 digest --auth-config keeps of it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			token, digest := server.NewToken()
			fmt.Fprintf(cmd.OutOrStdout(), "token:  %s\nsha256: %s\n", token, digest)
			return nil
		},
	}
}
