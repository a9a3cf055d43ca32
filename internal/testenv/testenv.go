// Package testenv gives tests real services: a fresh MariaDB/MySQL database
// and a Redis key prefix of their own, dropped afterwards, so that test
// packages can run in parallel. When a service cannot be reached the test
// fails under CI=true and is skipped otherwise.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the MySQL driver for creating test databases
	"github.com/redis/go-redis/v9"
)

// MySQLAdminDSN is where test databases are created; override with
// LOUYUAN_TEST_MYSQL (a DSN without a database name).
func MySQLAdminDSN() string {
	if dsn := os.Getenv("LOUYUAN_TEST_MYSQL"); dsn != "" {
		return dsn
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// RedisAddr is the test Redis; override with LOUYUAN_TEST_REDIS_ADDR.
func RedisAddr() string {
	if a := os.Getenv("LOUYUAN_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

func unreachable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not reachable and CI=true requires it: %v", what, err)
	}
	t.Skipf("%s is not reachable (%v); set CI=true to make this a failure", what, err)
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// MySQL creates an empty database for t and returns its DSN; the database
// is dropped when t ends.
func MySQL(t testing.TB) string {
	t.Helper()
	admin, err := sql.Open("mysql", MySQLAdminDSN())
	if err != nil {
		unreachable(t, "MySQL", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		unreachable(t, "MySQL", err)
	}
	name := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 30 {
		name = name[:30]
	}
	db := "ly_" + name + "_" + randomSuffix()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+db+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS `" + db + "`")
		admin.Close()
	})
	base := MySQLAdminDSN()
	if i := strings.LastIndex(base, "/"); i >= 0 {
		base = base[:i]
	}
	return fmt.Sprintf("%s/%s", base, db)
}

// RedisEnv is a Redis client and a key prefix owned by one test.
type RedisEnv struct {
	Client *redis.Client
	Prefix string
}

// Redis connects to the test Redis and deletes t's keys when t ends.
func Redis(t testing.TB) RedisEnv {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: RedisAddr()})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		unreachable(t, "Redis", err)
	}
	prefix := KeyPrefix(t)
	t.Cleanup(func() {
		DeletePrefix(rdb, prefix)
		rdb.Close()
	})
	return RedisEnv{Client: rdb, Prefix: prefix}
}

// KeyPrefix is a key prefix unique to this run of t.
func KeyPrefix(t testing.TB) string {
	return "test:" + unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_") + ":" + randomSuffix() + ":"
}

// DeletePrefix removes every key under prefix.
func DeletePrefix(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if len(keys) > 0 {
		rdb.Del(ctx, keys...)
	}
}
