// Package pgtest gives each test its own migrated PostgreSQL database,
// cloned from a template in about 20 ms (the pgtestdb idea).
//
// It needs PARCOURS_TEST_DATABASE_URL, a URL whose user may create
// databases; `make test` starts a private cluster and sets it.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-rsa/parcours/internal/postgres"
)

// EnvURL names the variable holding the admin URL of the test cluster.
const EnvURL = "PARCOURS_TEST_DATABASE_URL"

// AdminURL is the test cluster's URL; the test fails when it is missing, so
// that a run without a database never passes by skipping.
func AdminURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which starts a PostgreSQL cluster", EnvURL)
	}
	return url
}

// New returns a fresh, migrated database for this test, dropped at its end.
func New(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), NewURL(t))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// NewURL creates a fresh, migrated database and returns its URL.
func NewURL(t testing.TB) string {
	t.Helper()
	url, drop, err := Create(context.Background(), AdminURL(t))
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	t.Cleanup(drop)
	return url
}

// Create makes a fresh, migrated database on the cluster at admin and
// returns its URL and the function that drops it (for TestMain).
func Create(ctx context.Context, admin string) (url string, drop func(), err error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect to the test cluster: %w", err)
	}
	defer conn.Close(ctx)
	tpl, err := ensureTemplate(ctx, conn, admin)
	if err != nil {
		return "", nil, fmt.Errorf("template: %w", err)
	}
	name := "t_" + randomHex(8)
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tpl))
		if err == nil || attempt == 20 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return "", nil, fmt.Errorf("create test database: %w", err)
	}
	drop = func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
	}
	return withDatabase(admin, name), drop, nil
}

// ensureTemplate creates, once per set of migrations, a migrated template.
func ensureTemplate(ctx context.Context, conn *pgx.Conn, admin string) (string, error) {
	name := "tpl_" + migrationsHash()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7236002)`); err != nil {
		return "", err
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7236002)`) }()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building)); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		return "", err
	}
	db, err := postgres.Open(ctx, withDatabase(admin, building))
	if err != nil {
		return "", err
	}
	err = db.Migrate(ctx, postgres.LatestVersion())
	db.Close()
	if err != nil {
		return "", err
	}
	_, err = conn.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, name))
	return name, err
}

func migrationsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(postgres.MigrationFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(postgres.MigrationFS(), path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// withDatabase is the same URL naming another database.
func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("%s is not a URL: %v", EnvURL, err))
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
