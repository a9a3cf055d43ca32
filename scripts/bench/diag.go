package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// snapshot is what the bench samples at the start and end of a measured
// window to say where the time went: CPU seconds used by the server, the
// database, Redis and the bench itself, and the server's own request
// latency histogram sums (GET /metrics).
type snapshot struct {
	at      time.Time
	cpu     map[string]float64    // process group → CPU seconds
	metrics map[string][2]float64 // "METHOD route" → (seconds sum, count)
	db      map[string]float64    // MariaDB global status counters
}

// dbCounters are the MariaDB status counters the diagnostics compare. They
// are server-wide: other clients of the same MariaDB would show up too.
var dbCounters = []string{"Questions", "Com_stmt_prepare", "Com_stmt_execute", "Com_stmt_close", "Com_select", "Com_insert", "Com_update",
	"Com_commit", "Innodb_row_lock_waits", "Innodb_row_lock_time", "Innodb_data_fsyncs"}

// clockTicks is USER_HZ, 100 on every Linux the bench runs on.
const clockTicks = 100

func procCPU(pid int) (float64, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / clockTicks, true
}

// pidsByName finds processes whose command name is one of names.
func pidsByName(names ...string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []int
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil {
			continue
		}
		c := strings.TrimSpace(string(comm))
		for _, n := range names {
			if c == n {
				pid, _ := strconv.Atoi(filepath.Base(d))
				out = append(out, pid)
			}
		}
	}
	return out
}

func (b *bench) snapshot() snapshot {
	s := snapshot{at: time.Now(), cpu: map[string]float64{}, metrics: map[string][2]float64{}}
	groups := map[string][]int{
		"server":  {b.srv.Process.Pid},
		"mariadb": pidsByName("mariadbd", "mysqld"),
		"redis":   pidsByName("redis-server"),
		"bench":   {os.Getpid()},
	}
	if b.peerPID != 0 {
		groups["peer"] = []int{b.peerPID}
	}
	for g, pids := range groups {
		for _, p := range pids {
			if c, ok := procCPU(p); ok {
				s.cpu[g] += c
			}
		}
	}
	s.db = map[string]float64{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rows, err := b.adminDB.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('"+strings.Join(dbCounters, "','")+"')"); err == nil {
		for rows.Next() {
			var k, v string
			if rows.Scan(&k, &v) == nil {
				s.db[k], _ = strconv.ParseFloat(v, 64)
			}
		}
		rows.Close()
	}
	status, data, err := b.metrics.do(context.Background(), 5*time.Second, "GET", "/metrics", "", nil, "")
	if err == nil && status == 200 {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var which int
			switch {
			case strings.HasPrefix(line, "louyuan_http_request_seconds_sum{"):
				which = 0
			case strings.HasPrefix(line, "louyuan_http_request_seconds_count{"):
				which = 1
			default:
				continue
			}
			open, end := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}')
			if open < 0 || end < open {
				continue
			}
			labels := parseLabels(line[open+1 : end])
			v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
			if err != nil {
				continue
			}
			key := labels["method"] + " " + labels["route"]
			m := s.metrics[key]
			m[which] = v
			s.metrics[key] = m
		}
	}
	return s
}

func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

// describe writes one diagnostic line about a measured run to stderr.
func describe(label string, r loadResult) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d ops, %.1f/s, latency p50 %.2fms p90 %.2fms p99 %.2fms max %.2fms",
		label, r.n, r.rate, ms(r.percentile(0.5)), ms(r.percentile(0.9)), ms(r.percentile(0.99)), ms(r.percentile(1)))
	if r.errs > 0 {
		fmt.Fprintf(&b, "; %d FAILED (first: %v)", r.errs, r.first)
	}
	if !r.before.at.IsZero() && !r.after.at.IsZero() {
		win := r.after.at.Sub(r.before.at).Seconds()
		var (
			parts  []string
			served float64 // CPU seconds of everything but the load generator
		)
		for _, g := range []string{"server", "peer", "mariadb", "redis", "bench"} {
			if _, ok := r.before.cpu[g]; ok {
				used := r.after.cpu[g] - r.before.cpu[g]
				parts = append(parts, fmt.Sprintf("%s %.0f%%", g, 100*used/win))
				if g != "bench" {
					served += used
				}
			}
		}
		fmt.Fprintf(&b, "; CPU (of 200%%): %s", strings.Join(parts, ", "))
		if r.n > 0 {
			// What one operation costs the machine, load generator aside:
			// steadier than the rate on a machine shared with other work.
			fmt.Fprintf(&b, "; %.3f ms CPU per op (server side, all processes)", 1000*served/float64(r.n))
		}
		var routes []string
		for k, a := range r.after.metrics {
			bf := r.before.metrics[k]
			if dn := a[1] - bf[1]; dn >= 10 && !strings.HasSuffix(k, "/metrics") {
				routes = append(routes, fmt.Sprintf("%s %.0f req, server-side mean %.2fms", k, dn, 1000*(a[0]-bf[0])/dn))
			}
		}
		sort.Strings(routes)
		if len(routes) > 0 {
			fmt.Fprintf(&b, "; %s", strings.Join(routes, "; "))
		}
		if ops := float64(r.n); ops > 0 && len(r.before.db) > 0 {
			d := func(k string) float64 { return r.after.db[k] - r.before.db[k] }
			fmt.Fprintf(&b, "; MariaDB per op: %.1f statements (prepare %.1f, execute %.1f, close %.1f, select %.1f, insert %.1f, update %.1f, commit %.1f), %.2f fsyncs",
				d("Questions")/ops, d("Com_stmt_prepare")/ops, d("Com_stmt_execute")/ops, d("Com_stmt_close")/ops, d("Com_select")/ops,
				d("Com_insert")/ops, d("Com_update")/ops, d("Com_commit")/ops, d("Innodb_data_fsyncs")/ops)
			if w := d("Innodb_row_lock_waits"); w > 0 {
				fmt.Fprintf(&b, "; row lock waits %.0f (%.2f per op, %.1f ms total wait per op)", w, w/ops, d("Innodb_row_lock_time")/ops)
			}
		}
	}
	logf("%s", b.String())
}
