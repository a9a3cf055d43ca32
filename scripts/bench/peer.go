package main

// The peer: the ballot endpoint a typical Gin + GORM project writes, as the
// baseline of vote_cast_peer_c16 and vote_cast_peer_c64. It checks an
// HMAC-signed bearer token, binds the JSON with ShouldBindJSON and writes
// one INSERT … ON DUPLICATE KEY UPDATE through GORM per request, answering
// 201 with a small JSON body. It runs as a process of its own (this binary
// started again with the argument "peer"), like our server, so that it
// does not share the load generator's process.

import (
	"context"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// peerBallot is the peer's one table, keyed like our counted ballots.
type peerBallot struct {
	MotionID    int64 `gorm:"primaryKey;autoIncrement:false"`
	HouseholdID int64 `gorm:"primaryKey;autoIncrement:false"`
	Choice      string
	UpdatedAt   time.Time
}

func (peerBallot) TableName() string { return "bench_peer_ballots" }

// peerToken signs "household.expiry" with key, the way such projects sign
// a bearer token.
func peerToken(key []byte, household int64, exp time.Time) string {
	payload := strconv.FormatInt(household, 10) + "." + strconv.FormatInt(exp.Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + hex.EncodeToString(m.Sum(nil))
}

// peerCheck returns the household of a valid, unexpired token.
func peerCheck(key []byte, token string) (int64, bool) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return 0, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return 0, false
	}
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	want := hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return 0, false
	}
	h, e, ok := strings.Cut(string(payload), ".")
	if !ok {
		return 0, false
	}
	household, err1 := strconv.ParseInt(h, 10, 64)
	exp, err2 := strconv.ParseInt(e, 10, 64)
	if err1 != nil || err2 != nil || time.Now().Unix() > exp {
		return 0, false
	}
	return household, true
}

// runPeer serves the peer on addr until the process is killed: `bench peer
// ADDR DSN KEYHEX`.
func runPeer(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: bench peer ADDR DSN KEYHEX")
	}
	addr, dsn := args[0], args[1]
	key, err := hex.DecodeString(args[2])
	if err != nil {
		return err
	}
	db, err := gorm.Open(gormmysql.Open(dsn), &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		return err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	sqlDB.SetMaxOpenConns(64)
	sqlDB.SetMaxIdleConns(64)
	if err := db.AutoMigrate(&peerBallot{}); err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/api/v1/motions/:id/ballots", func(c *gin.Context) {
		household, ok := peerCheck(key, strings.TrimPrefix(c.GetHeader("Authorization"), "Bearer "))
		if !ok {
			c.JSON(http.StatusUnauthorized, gin.H{"error": "unauthorized"})
			return
		}
		motion, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": "bad motion"})
			return
		}
		var req struct {
			HouseholdID int64    `json:"household_id" binding:"required,gt=0"`
			Options     []string `json:"options" binding:"required,min=1,max=50"`
		}
		if err := c.ShouldBindJSON(&req); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
			return
		}
		if req.HouseholdID != household {
			c.JSON(http.StatusForbidden, gin.H{"error": "not your household"})
			return
		}
		b := peerBallot{MotionID: motion, HouseholdID: household, Choice: strings.Join(req.Options, ","), UpdatedAt: time.Now().UTC()}
		if err := db.WithContext(c.Request.Context()).Clauses(clause.OnConflict{DoUpdates: clause.AssignmentColumns([]string{"choice", "updated_at"})}).
			Create(&b).Error; err != nil {
			c.JSON(http.StatusInternalServerError, gin.H{"error": "database"})
			return
		}
		c.JSON(http.StatusCreated, gin.H{"motion_id": motion, "household_id": household, "status": "counted"})
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("peer listening on", ln.Addr())
	return (&http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

// startPeer starts the peer as a process of its own on a free loopback
// port over the bench's database, and returns a client, the key that signs
// its tokens, and a stop function.
func (b *bench) startPeer(ctx context.Context) (*apiClient, []byte, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	cmd := exec.Command(self, "peer", addr, b.peerDSN, hex.EncodeToString(key))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	b.peerPID = cmd.Process.Pid
	stop := func() {
		b.peerPID = 0
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	c := newAPIClient("http://" + addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _, err := c.do(ctx, time.Second, "POST", "/api/v1/motions/1/ballots", "", []byte(`{}`), "application/json")
		if err == nil && status == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, nil, fmt.Errorf("peer did not start on %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c, key, stop, nil
}

// voteCastPeer measures ours against the peer at conc clients, each run
// for the same time with the same kind of key stream (distinct households,
// 10% re-submissions). Ratio ours/peer: higher is better, target 1.0.
func (b *bench) voteCastPeer(ctx context.Context, name string, conc int) error {
	peer, key, stop, err := b.startPeer(ctx)
	if err != nil {
		return err
	}
	defer stop()
	defer peer.close()
	hs := make([]int64, len(b.reps))
	peerTokenOf := make(map[int64]string, len(b.reps))
	exp := time.Now().Add(24 * time.Hour)
	for i, r := range b.reps {
		hs[i] = r.householdID
		peerTokenOf[r.householdID] = peerToken(key, r.householdID, exp)
	}
	if err := b.initCastSources(ctx); err != nil {
		return err
	}
	if peerSource == nil {
		peerSource = &ballotSource{first: 1, households: hs, done: newPairSet(), rng: rand.New(rand.NewPCG(7, 8)), dupShare: dupShare}
	}
	// Ours and the peer take turns, so that a shared machine's other load
	// falls on both alike; each side's rate is its operations over its
	// measured time in all rounds.
	rounds := max(b.o.rounds, 1)
	window := b.o.duration / time.Duration(rounds)
	var oursN, baseN int
	for r := range rounds {
		ours, err := b.castOurs(ctx, fmt.Sprintf("%s (round %d of %d)", name, r+1, rounds), conc, window)
		if err != nil {
			return err
		}
		oursN += ours.n
		logf("%s: peer (Gin + GORM upsert) at concurrency %d, round %d of %d…", name, conc, r+1, rounds)
		base, err := runLoad(ctx, loadSpec{name: name + " peer", conc: conc, warmup: b.o.warmup, window: window, probe: b.snapshot,
			op: func(ctx context.Context, _ int) error {
				p, _, err := peerSource.next()
				if err != nil {
					return err
				}
				body := []byte(fmt.Sprintf(`{"household_id":%d,"options":["%s"]}`, p.household, peerSource.option()))
				status, data, err := peer.do(ctx, opTimeout, "POST", "/api/v1/motions/"+strconv.FormatInt(p.motion, 10)+"/ballots", peerTokenOf[p.household], body, "application/json")
				if err != nil {
					return err
				}
				if status != http.StatusCreated {
					return fmt.Errorf("peer ballot of household %d: HTTP %d: %s", p.household, status, clip(data, 300))
				}
				peerSource.done.add(p)
				return nil
			}})
		if err != nil {
			return err
		}
		describe(fmt.Sprintf("%s peer (round %d of %d)", name, r+1, rounds), base)
		baseN += base.n
	}
	total := (window * time.Duration(rounds)).Seconds()
	emit(name, float64(oursN)/total, float64(baseN)/total, "1.0")
	return nil
}

var peerSource *ballotSource
