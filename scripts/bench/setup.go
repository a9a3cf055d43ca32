package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xuri/excelize/v2"
)

// The demo seeds these (server/demo.go); the bench's setup goes through the
// API as the demo's community staff. On a production database the demo's
// staff password is LOUYUAN_DEMO_PASSWORD (never the public demo password),
// which the bench sets to this one (env.go).
const (
	demoStaffUser     = "shequ"
	demoStaffPassword = "bench-demo-staff-password"
	demoCourtyard     = 1
	demoCommunity     = "桐本北路社区"
)

// rep is a bound household representative, logged in.
type rep struct {
	token       string
	userID      int64
	householdID int64
}

type household struct {
	ID       int64  `json:"id"`
	Building string `json:"building"`
	Unit     string `json:"unit"`
	Room     string `json:"room"`
}

func (h household) label() string { return h.Building + "\x00" + h.Unit + "\x00" + h.Room }

type tokens struct {
	AccessToken string `json:"access_token"`
	User        *struct {
		ID int64 `json:"id"`
	} `json:"user"`
}

type motionView struct {
	ID       int64  `json:"id"`
	Status   string `json:"status"`
	ClosesAt string `json:"closes_at"`
}

// setupCourtyard logs the staff in, and when voters are needed fills
// courtyard 1 with -households more households, each bound to a fresh
// representative; then, when motions are needed, opens the motions the
// scenarios vote on.
func (b *bench) setupCourtyard(ctx context.Context, needVoters, needMotions bool) error {
	var t tokens
	if err := b.api.call(ctx, 30*time.Second, "POST", "/api/v1/auth/staff/login", "",
		map[string]string{"username": demoStaffUser, "password": demoStaffPassword}, http.StatusOK, &t); err != nil {
		return fmt.Errorf("staff login: %w", err)
	}
	b.staffToken = t.AccessToken
	if err := b.db.QueryRowContext(ctx, "SELECT id FROM communities WHERE name = ?", demoCommunity).Scan(&b.communityID); err != nil {
		return fmt.Errorf("find the demo community: %w", err)
	}
	if needVoters {
		if err := b.importRoster(ctx); err != nil {
			return err
		}
		hs, err := b.courtyardHouseholds(ctx)
		if err != nil {
			return err
		}
		if err := b.bindRepresentatives(ctx, hs); err != nil {
			return err
		}
	}
	if !needMotions {
		return nil
	}
	k := 1
	if b.o.want("vote_cast_c16") || b.o.want("vote_cast_c64") || b.o.want("vote_cast_peer_c16") || b.o.want("vote_cast_peer_c64") {
		k = b.o.motions
		if k == 0 {
			// Fresh (motion, household) pairs for every vote_cast run at
			// up to ~9,000 ballots/s, 90% of them fresh; the peer
			// scenarios warm up once per round.
			var secs float64
			for _, n := range []string{"vote_cast_c16", "vote_cast_c64"} {
				if b.o.want(n) {
					secs += (b.o.warmup + b.o.duration + time.Second).Seconds()
				}
			}
			for _, n := range []string{"vote_cast_peer_c16", "vote_cast_peer_c64"} {
				if b.o.want(n) {
					secs += (time.Duration(max(b.o.rounds, 1))*b.o.warmup + b.o.duration + time.Second).Seconds()
				}
			}
			k = int(secs*9000*0.9)/len(b.reps) + 1
			k = min(max(k, 2), maxMotions)
		}
	}
	ms, err := b.openMotions(ctx, k)
	if err != nil {
		return err
	}
	b.castMotions = ms
	return nil
}

// importRoster uploads XLSX rosters adding o.households households in new
// buildings (3号楼 on) to courtyard 1: 4 units × 25 floors × 2 flats each.
func (b *bench) importRoster(ctx context.Context) error {
	start := time.Now()
	const perFile = 20000 // the server's limit per file
	total := b.o.households
	created := 0
	for first := 0; first < total; first += perFile {
		n := min(perFile, total-first)
		data, err := rosterXLSX(first, n)
		if err != nil {
			return err
		}
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		fw, err := w.CreateFormFile("file", "bench-roster.xlsx")
		if err != nil {
			return err
		}
		if _, err := fw.Write(data); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		status, resp, err := b.api.do(ctx, 10*time.Minute, "POST", fmt.Sprintf("/api/v1/courtyards/%d/roster", demoCourtyard), b.staffToken, body.Bytes(), w.FormDataContentType())
		if err != nil {
			return fmt.Errorf("roster import: %w", err)
		}
		if status != http.StatusOK {
			return fmt.Errorf("roster import: HTTP %d: %s", status, clip(resp, 800))
		}
		created += n
	}
	logf("imported %d households (roster XLSX) in %s", created, time.Since(start).Round(time.Millisecond))
	return nil
}

// rosterXLSX writes n roster rows starting at household index first.
func rosterXLSX(first, n int) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	if err := sw.SetRow("A1", []any{"楼栋", "单元", "房号", "楼层", "专有面积", "业主姓名"}); err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		idx := first + i
		building := 3 + idx/200
		unit := 1 + idx%200/50
		floor := 1 + idx%50/2
		flat := 1 + idx%2
		area := 6000 + (idx*137)%6000 // 0.01 m²
		row := []any{fmt.Sprintf("%d号楼", building), fmt.Sprintf("%d单元", unit), fmt.Sprintf("%d%02d", floor, flat), floor,
			fmt.Sprintf("%d.%02d", area/100, area%100), fmt.Sprintf("业主%06d", idx)}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (b *bench) courtyardHouseholds(ctx context.Context) ([]household, error) {
	var out struct {
		Households []household `json:"households"`
	}
	if err := b.api.call(ctx, 2*time.Minute, "GET", fmt.Sprintf("/api/v1/courtyards/%d/households", demoCourtyard), b.staffToken, nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	if len(out.Households) < b.o.households {
		return nil, fmt.Errorf("courtyard %d lists %d households after importing %d", demoCourtyard, len(out.Households), b.o.households)
	}
	return out.Households, nil
}

// bindRepresentatives issues an owner invite for every household and binds
// a fresh fake WeChat user to each (the first owner bound becomes the
// representative), 16 at a time.
func (b *bench) bindRepresentatives(ctx context.Context, hs []household) error {
	start := time.Now()
	ids := make([]int64, len(hs))
	for i, h := range hs {
		ids[i] = h.ID
	}
	var inv struct {
		Invites []struct {
			Building string `json:"building"`
			Unit     string `json:"unit"`
			Room     string `json:"room"`
			Code     string `json:"code"`
		} `json:"invites"`
	}
	if err := b.api.call(ctx, 5*time.Minute, "POST", fmt.Sprintf("/api/v1/courtyards/%d/invites?format=json", demoCourtyard), b.staffToken,
		map[string]any{"household_ids": ids}, http.StatusCreated, &inv); err != nil {
		return fmt.Errorf("issue invites: %w", err)
	}
	byLabel := make(map[string]int64, len(hs))
	for _, h := range hs {
		byLabel[h.label()] = h.ID
	}
	type job struct {
		householdID int64
		code        string
	}
	jobs := make([]job, 0, len(inv.Invites))
	for _, s := range inv.Invites {
		id, ok := byLabel[household{Building: s.Building, Unit: s.Unit, Room: s.Room}.label()]
		if !ok {
			return fmt.Errorf("invite for unknown household %s%s%s", s.Building, s.Unit, s.Room)
		}
		jobs = append(jobs, job{id, s.Code})
	}
	if len(jobs) != len(hs) {
		return fmt.Errorf("asked for %d invites, got %d", len(hs), len(jobs))
	}
	logf("issued %d invites in %s; binding representatives…", len(jobs), time.Since(start).Round(time.Millisecond))

	reps := make([]rep, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < 16; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) || ctx.Err() != nil {
					return
				}
				r, err := b.bindOne(ctx, i, jobs[i].householdID, jobs[i].code)
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				reps[i] = r
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("bind representatives: %w", firstErr)
	}
	b.reps = reps
	logf("bound %d representatives in %s", len(reps), time.Since(start).Round(time.Millisecond))
	return nil
}

func (b *bench) bindOne(ctx context.Context, i int, householdID int64, code string) (rep, error) {
	var t tokens
	// The fake WeChat API logs "<handle>.<anything>" in as <handle>, each code once.
	if err := b.api.call(ctx, 30*time.Second, "POST", "/api/v1/auth/wechat/login", "",
		map[string]string{"code": fmt.Sprintf("bench%d.%s", i, b.runID)}, http.StatusOK, &t); err != nil {
		return rep{}, err
	}
	if t.User == nil || t.AccessToken == "" {
		return rep{}, errors.New("wechat login answered without user or token")
	}
	var m struct {
		HouseholdID    int64 `json:"household_id"`
		Representative bool  `json:"representative"`
	}
	if err := b.api.call(ctx, 30*time.Second, "POST", "/api/v1/me/households", t.AccessToken,
		map[string]string{"invite_code": code}, http.StatusCreated, &m); err != nil {
		return rep{}, err
	}
	if m.HouseholdID != householdID || !m.Representative {
		return rep{}, fmt.Errorf("bound to household %d (representative %v), want representative of %d", m.HouseholdID, m.Representative, householdID)
	}
	return rep{token: t.AccessToken, userID: t.User.ID, householdID: householdID}, nil
}

// openMotions creates k ordinary named motions on courtyard 1 (no notice
// period, opening in a few seconds, closing in 60 days), publishes them and
// opens them; the server's scheduler may open them first, which is fine.
func (b *bench) openMotions(ctx context.Context, k int) ([]int64, error) {
	start := time.Now()
	opens := time.Now().Add(time.Duration(2+k/4) * time.Second).UTC().Truncate(time.Second)
	ids := make([]int64, 0, k)
	for i := 0; i < k; i++ {
		body := map[string]any{"scope_type": "courtyard", "title": fmt.Sprintf("压测表决%d（加装电梯）", i+1), "rule": "ordinary",
			"ballot_mode": "named", "notice_days": 0, "objection_days": 0, "opens_at": opens, "closes_at": opens.Add(60 * 24 * time.Hour)}
		var m motionView
		if err := b.api.call(ctx, time.Minute, "POST", fmt.Sprintf("/api/v1/courtyards/%d/motions", demoCourtyard), b.staffToken, body, http.StatusCreated, &m); err != nil {
			return nil, fmt.Errorf("create motion: %w", err)
		}
		if err := b.api.call(ctx, time.Minute, "POST", fmt.Sprintf("/api/v1/motions/%d/publish", m.ID), b.staffToken, nil, http.StatusOK, nil); err != nil {
			return nil, fmt.Errorf("publish motion: %w", err)
		}
		ids = append(ids, m.ID)
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Until(opens) + 50*time.Millisecond):
	}
	for _, id := range ids {
		status, data, err := b.api.do(ctx, 5*time.Minute, "POST", fmt.Sprintf("/api/v1/motions/%d/open", id), b.staffToken, nil, "")
		if err != nil {
			return nil, err
		}
		switch status {
		case http.StatusOK:
		case http.StatusConflict: // the scheduler got there first
		default:
			return nil, fmt.Errorf("open motion %d: HTTP %d: %s", id, status, clip(data, 400))
		}
		if err := b.waitVoting(ctx, id); err != nil {
			return nil, err
		}
	}
	logf("opened %d motion(s) %v in %s", len(ids), ids, time.Since(start).Round(time.Millisecond))
	return ids, nil
}

func (b *bench) waitVoting(ctx context.Context, id int64) error {
	deadline := time.Now().Add(time.Minute)
	for {
		var out struct {
			Motion motionView `json:"motion"`
		}
		if err := b.api.call(ctx, time.Minute, "GET", fmt.Sprintf("/api/v1/motions/%d", id), b.staffToken, nil, http.StatusOK, &out); err != nil {
			return err
		}
		if out.Motion.Status == "voting" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("motion %d is %q, not voting, a minute after opening", id, out.Motion.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
