package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/testenv"
	"github.com/louyuan/louyuan/internal/voting"
)

// vtRedis is a Redis server of the test's own, so that it can be stopped
// and started again without disturbing other tests.
type vtRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func vtStartRedis(t *testing.T, port int) *vtRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is not installed and CI=true requires this test: %v", err)
		}
		t.Skip("redis-server is not installed")
	}
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &vtRedis{t: t, port: port, cmd: cmd}
	t.Cleanup(r.stop)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", r.addr()); err == nil {
			c.Close()
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("redis-server on port %d did not come up", port)
	return nil
}

func (r *vtRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *vtRedis) stop() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

// TestVotingWhileRedisIsDown stops Redis in the middle of voting: ballots
// keep being accepted and none is lost, tallies are still answered (counted
// from the database), and the live tally is rebuilt once Redis returns.
func TestVotingWhileRedisIsDown(t *testing.T) {
	rds := vtStartRedis(t, 0)
	dsn := testenv.MySQL(t)
	cfg := vtConfig(e2eProductionConfig(t, dsn, "redis://"+rds.addr(), "louyuan:", e2eNewSecrets(t)))
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)
	electorate := env.electorate(t)
	m := env.openMotion(t, map[string]any{"rule": "ordinary"}, time.Hour)
	ballots := fmt.Sprintf("/api/v1/motions/%d/ballots", m.ID)
	options := []string{voting.OptionAgree, voting.OptionOppose, voting.OptionAbstain}
	var votes []voting.Vote
	cast := func(i int) {
		t.Helper()
		rep := env.reps[i]
		opt := options[i%3]
		r := s.call(t, "POST", ballots, rep.token, map[string]any{"household_id": rep.householdID, "options": []string{opt}})
		e2eWant(t, r, http.StatusCreated)
		votes = append(votes, voting.Vote{HouseholdID: rep.householdID, Options: []string{opt}})
	}
	for i := 0; i < 20; i++ {
		cast(i)
	}
	_, live := env.tally(t, m.ID, env.staff)
	sameAsModel(t, "live tally before the outage", live, voting.Count(voting.OrdinaryRule(), electorate, options, votes))

	rds.stop()
	for i := 20; i < 40; i++ {
		cast(i)
	}
	_, during := env.tally(t, m.ID, env.staff)
	sameAsModel(t, "tally while Redis is down", during, voting.Count(voting.OrdinaryRule(), electorate, options, votes))
	if st := readyStatus(s); st != http.StatusServiceUnavailable {
		t.Errorf("readyz with Redis down answered %d, want 503", st)
	}

	// Redis returns empty: the live tally is rebuilt from the database.
	vtStartRedis(t, rds.port)
	deadline := time.Now().Add(10 * time.Second)
	for readyStatus(s) != http.StatusOK && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for i := 40; i < 50; i++ {
		cast(i)
	}
	_, after := env.tally(t, m.ID, env.staff)
	want := voting.Count(voting.OrdinaryRule(), electorate, options, votes)
	sameAsModel(t, "live tally after Redis returned", after, want)
	if after.Voted.Households != 50 {
		t.Fatalf("%d households counted, want all 50 ballots", after.Voted.Households)
	}
}

// readyStatus is the status of /readyz (a 503 there is an answer, not a
// server error, so it bypasses the contract checks of call).
func readyStatus(s *e2eServer) int {
	res, err := s.client.Get(s.base + "/readyz")
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}
