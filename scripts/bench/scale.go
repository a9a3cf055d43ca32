package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bulk loading of a motion with n counted ballots, in plain SQL (multi-row
// INSERTs and INSERT … SELECT over ID ranges, a few thousand rows per
// statement, foreign keys checked), into a new courtyard of the demo
// community so that the demo staff may read it:
//
//	courtyard → ⌈n/1000⌉ buildings × 10 units × up to 100 households
//	          (bulkCourtyard, which the export scenarios use too)
//	motion    a copy of a voting motion of courtyard 1 (same rule, options
//	          and dates), scoped to the new courtyard, inserted as a draft
//	          and switched to voting once all its rows are in
//	motion_electorate  every household (its own owner group, its area)
//	ballots            one per household ("self", 60% agree, 30% oppose, 10% abstain)
//	counted_ballots    each household's ballot, version 1
//
// No audit entries are written for these ballots, and the households have
// no owners or members: the tally reads neither. The server's live tally
// for the motion is not loaded; its first read rebuilds it from these rows.
const (
	perBuilding = 1000
	perUnit     = 100
	rowsPerStmt = 2000 // households per multi-row INSERT
	idRange     = 5000 // household IDs per INSERT … SELECT
	loaders     = 2    // parallel connections (2 cores)
)

func (b *bench) buildScaleMotion(ctx context.Context, n int, template int64) (int64, error) {
	start := time.Now()
	now := time.Now().UTC().Truncate(time.Microsecond)
	yard, lo, hi, err := b.bulkCourtyard(ctx, n, fmt.Sprintf("压测小区%d户-%s", n, b.runID), now)
	if err != nil {
		return 0, err
	}

	// The motion: a copy of a voting motion, moved to the new courtyard.
	res, err := b.db.ExecContext(ctx, `INSERT INTO motions (courtyard_id, scope_type, scope_id, title, body, subject, rule_kind, rule_json, options_json,
  ballot_mode, status, notice_days, objection_days, opens_at, closes_at, published_at, opened_at, created_by, created_at)
SELECT ?, 'courtyard', ?, ?, body, ?, rule_kind, rule_json, options_json, ballot_mode, 'draft', notice_days, objection_days,
  opens_at, closes_at, published_at, opened_at, created_by, created_at
FROM motions WHERE id = ? AND status = 'voting'`, yard, yard, fmt.Sprintf("规模测试%d票", n), fmt.Sprintf("规模测试%d票-%s", n, b.runID), template)
	if err != nil {
		return 0, fmt.Errorf("insert motion: %w", err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return 0, fmt.Errorf("template motion %d is not voting", template)
	}
	motion, _ := res.LastInsertId()

	// Electorate, ballots and counted ballots, range by range.
	phase := time.Now()
	ranges := int((hi-lo)/idRange + 1)
	var rowsDone atomic.Int64
	err = parallel(ctx, loaders, ranges, func(ctx context.Context, r int) error {
		from := lo + int64(r)*idRange
		to := min(from+idRange-1, hi)
		if _, err := b.db.ExecContext(ctx, `INSERT INTO motion_electorate (motion_id, household_id, owner_group, area, building_id, unit_id)
SELECT ?, id, id, area, building_id, unit_id FROM households WHERE courtyard_id = ? AND id BETWEEN ? AND ?`, motion, yard, from, to); err != nil {
			return fmt.Errorf("insert electorate: %w", err)
		}
		if _, err := b.db.ExecContext(ctx, `INSERT INTO ballots (motion_id, household_id, choice, channel, cast_by, receipt, created_at)
SELECT motion_id, household_id,
  CASE WHEN household_id % 10 < 6 THEN '["agree"]' WHEN household_id % 10 < 9 THEN '["oppose"]' ELSE '["abstain"]' END,
  'self', 'bench', CONCAT('Z', LPAD(household_id, 11, '0')), ?
FROM motion_electorate WHERE motion_id = ? AND household_id BETWEEN ? AND ?`, now, motion, from, to); err != nil {
			return fmt.Errorf("insert ballots: %w", err)
		}
		res, err := b.db.ExecContext(ctx, `INSERT INTO counted_ballots (motion_id, household_id, ballot_id, choice, channel, delegation_id, version, updated_at)
SELECT motion_id, household_id, id, choice, channel, NULL, 1, created_at FROM ballots WHERE motion_id = ? AND household_id BETWEEN ? AND ?`, motion, from, to)
		if err != nil {
			return fmt.Errorf("insert counted ballots: %w", err)
		}
		k, _ := res.RowsAffected()
		if done := rowsDone.Add(k); done%100000 < k && n >= 100000 {
			logf("  counted ballots: %d/%d", done, n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var counted int
	if err := b.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM counted_ballots WHERE motion_id = ?", motion).Scan(&counted); err != nil {
		return 0, err
	}
	if counted != n {
		return 0, fmt.Errorf("motion %d has %d counted ballots, want %d", motion, counted, n)
	}
	// Only now does the motion become voting: the server's scheduler checks
	// the live tally of every voting motion against the database, and would
	// otherwise load a half-built electorate (the real Open freezes the
	// electorate and changes the status in one transaction).
	if _, err := b.db.ExecContext(ctx, "UPDATE motions SET status = 'voting' WHERE id = ? AND status = 'draft'", motion); err != nil {
		return 0, fmt.Errorf("open motion %d: %w", motion, err)
	}
	logf("built motion %d with %d counted ballots in %s (electorate+ballots+counted %s)", motion, n,
		time.Since(start).Round(time.Millisecond), time.Since(phase).Round(time.Millisecond))
	return motion, nil
}

// bulkCourtyard inserts a courtyard of the demo community (so that the demo
// staff may read it) named name, with ⌈n/1000⌉ buildings × 10 units × up to
// 100 households, and returns it with the range of its household IDs.
func (b *bench) bulkCourtyard(ctx context.Context, n int, name string, now time.Time) (yard, lo, hi int64, err error) {
	start := time.Now()
	res, err := b.db.ExecContext(ctx, "INSERT INTO courtyards (community_id, name, address, created_at) VALUES (?, ?, '', ?)", b.communityID, name, now)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("insert courtyard: %w", err)
	}
	yard, _ = res.LastInsertId()

	nb := (n + perBuilding - 1) / perBuilding
	if err := multiInsert(ctx, b.db, "INSERT INTO buildings (courtyard_id, name, created_at) VALUES ", "(?, ?, ?)", nb,
		func(i int) []any { return []any{yard, fmt.Sprintf("%d号楼", i+1), now} }); err != nil {
		return 0, 0, 0, fmt.Errorf("insert buildings: %w", err)
	}
	buildings, err := idsByName(ctx, b.db, "SELECT name, id FROM buildings WHERE courtyard_id = ?", yard)
	if err != nil {
		return 0, 0, 0, err
	}
	unitsPer := perBuilding / perUnit
	if err := multiInsert(ctx, b.db, "INSERT INTO units (building_id, name, created_at) VALUES ", "(?, ?, ?)", nb*unitsPer,
		func(i int) []any {
			return []any{buildings[fmt.Sprintf("%d号楼", i/unitsPer+1)], fmt.Sprintf("%d单元", i%unitsPer+1), now}
		}); err != nil {
		return 0, 0, 0, fmt.Errorf("insert units: %w", err)
	}
	units, err := idsByName(ctx, b.db, "SELECT CONCAT(b.name, '/', u.name), u.id FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.courtyard_id = ?", yard)
	if err != nil {
		return 0, 0, 0, err
	}

	// Households, in parallel batches.
	batches := (n + rowsPerStmt - 1) / rowsPerStmt
	var inserted atomic.Int64
	err = parallel(ctx, loaders, batches, func(ctx context.Context, batch int) error {
		first := batch * rowsPerStmt
		cnt := min(rowsPerStmt, n-first)
		err := multiInsert(ctx, b.db, "INSERT INTO households (courtyard_id, building_id, unit_id, room, floor, area, created_at, updated_at) VALUES ",
			"(?, ?, ?, ?, ?, ?, ?, ?)", cnt, func(j int) []any {
				i := first + j
				bname := fmt.Sprintf("%d号楼", i/perBuilding+1)
				k := i % perUnit
				floor := k/4 + 1
				area := 5000 + (i*137)%7000 // 0.01 m²
				return []any{yard, buildings[bname], units[fmt.Sprintf("%s/%d单元", bname, i%perBuilding/perUnit+1)],
					fmt.Sprintf("%d%02d", floor, k%4+1), floor, fmt.Sprintf("%d.%02d", area/100, area%100), now, now}
			})
		if err == nil {
			if done := inserted.Add(int64(cnt)); done%100000 < int64(cnt) && n >= 100000 {
				logf("  households: %d/%d", done, n)
			}
		}
		return err
	})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("insert households: %w", err)
	}
	var count int64
	if err := b.db.QueryRowContext(ctx, "SELECT MIN(id), MAX(id), COUNT(*) FROM households WHERE courtyard_id = ?", yard).Scan(&lo, &hi, &count); err != nil {
		return 0, 0, 0, err
	}
	if count != int64(n) {
		return 0, 0, 0, fmt.Errorf("courtyard %d has %d households, want %d", yard, count, n)
	}
	logf("  %d households in courtyard %d inserted in %s", n, yard, time.Since(start).Round(time.Millisecond))

	return yard, lo, hi, nil
}

// multiInsert inserts n rows, rowsPerStmt per statement.
func multiInsert(ctx context.Context, db *sql.DB, head, tuple string, n int, row func(i int) []any) error {
	for first := 0; first < n; first += rowsPerStmt {
		cnt := min(rowsPerStmt, n-first)
		var q strings.Builder
		q.WriteString(head)
		args := make([]any, 0, cnt*8)
		for j := 0; j < cnt; j++ {
			if j > 0 {
				q.WriteByte(',')
			}
			q.WriteString(tuple)
			args = append(args, row(first+j)...)
		}
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

func idsByName(ctx context.Context, db *sql.DB, q string, args ...any) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var id int64
		if err := rows.Scan(&name, &id); err != nil {
			return nil, err
		}
		out[name] = id
	}
	return out, rows.Err()
}

// parallel runs fn(0..n-1) on k workers and returns the first error.
func parallel(ctx context.Context, k, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < k; w++ {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}
