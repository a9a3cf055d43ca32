package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// prMariaDB is a MariaDB server of the test's own: its own data folder
// and port on loopback, never the machine's shared server.
type prMariaDB struct {
	t       *testing.T
	dir     string
	port    int
	cmd     *exec.Cmd
	exited  chan struct{}
	logs    *prLog
	mariadb string
}

func prStartMariaDB(t *testing.T) *prMariaDB {
	t.Helper()
	bin := "/usr/sbin/mariadbd"
	install, err := exec.LookPath("mariadb-install-db")
	if _, serr := os.Stat(bin); serr != nil || err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mariadbd or mariadb-install-db is not installed and CI=true requires this test (%v %v)", serr, err)
		}
		t.Skip("mariadbd is not installed")
	}
	m := &prMariaDB{t: t, dir: t.TempDir(), port: prFreePort(t), logs: &prLog{}, mariadb: bin}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{"--no-defaults", "--datadir=" + filepath.Join(m.dir, "data"), "--auth-root-authentication-method=normal", "--skip-test-db"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	if out, err := exec.CommandContext(ctx, install, args...).CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	m.start()
	t.Cleanup(m.kill)
	return m
}

// start runs mariadbd on the data folder and waits until it answers.
func (m *prMariaDB) start() {
	t := m.t
	t.Helper()
	args := []string{"--no-defaults", "--datadir=" + filepath.Join(m.dir, "data"), "--socket=" + filepath.Join(m.dir, "sock"),
		"--port=" + strconv.Itoa(m.port), "--bind-address=127.0.0.1", "--skip-grant-tables", "--skip-name-resolve",
		"--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M", "--max-connections=300", "--pid-file=" + filepath.Join(m.dir, "pid")}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	cmd := exec.Command(m.mariadb, args...)
	cmd.Stdout, cmd.Stderr = m.logs, m.logs
	prDieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mariadbd: %v", err)
	}
	m.cmd = cmd
	m.exited = make(chan struct{})
	exited := m.exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		db, err := sql.Open("mysql", m.adminDSN())
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
			if err == nil {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("mariadbd exited: %v\n%s", cmd.ProcessState, m.logs.tail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mariadbd did not answer within 90s\n%s", m.logs.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *prMariaDB) adminDSN() string { return fmt.Sprintf("root@tcp(127.0.0.1:%d)/", m.port) }

// kill stops mariadbd with SIGKILL: committed transactions must survive it
// (crash recovery at the next start).
func (m *prMariaDB) kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	select {
	case <-m.exited:
		return
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.exited
}

// database creates a database and returns its DSN.
func (m *prMariaDB) database(name string) string {
	m.t.Helper()
	db, err := sql.Open("mysql", m.adminDSN())
	if err != nil {
		m.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		m.t.Fatal(err)
	}
	return m.adminDSN() + name
}

// prUp reports whether something listens on addr.
func prUp(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}
