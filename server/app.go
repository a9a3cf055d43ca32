package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/louyuan/louyuan/internal/api"
	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/notice"
	"github.com/louyuan/louyuan/internal/opinion"
	"github.com/louyuan/louyuan/internal/petition"
	"github.com/louyuan/louyuan/internal/redisstore"
	"github.com/louyuan/louyuan/internal/roster"
	"github.com/louyuan/louyuan/internal/share"
	"github.com/louyuan/louyuan/internal/sqlstore"
	"github.com/louyuan/louyuan/internal/voting"
	"github.com/louyuan/louyuan/internal/wechat"
	"github.com/louyuan/louyuan/internal/wechat/wechatfake"
)

// The embedded default's fake WeChat app.
const (
	demoAppID  = "wxlouyuandemo0001"
	demoSecret = "louyuan-demo-secret"
)

// App is the wired server: stores, services and the HTTP API.
type App struct {
	cfg       *Config
	log       *slog.Logger
	DB        *sqlstore.DB
	Redis     *redis.Client
	Audit     *sqlstore.AuditLog
	Identity  *identity.Service
	Roster    *roster.Service
	Files     *files.Service
	Voting    *voting.Service
	Petitions *petition.Service
	Councils  *council.Service
	Opinions  *opinion.Service
	Notices   *notice.Service
	Shares    *share.Service
	Delivery  *notice.Worker
	API       *api.Server
	// Fake is the in-process fake WeChat API of the embedded default.
	Fake    *wechatfake.Server
	Phones  *identity.PhoneVault
	closers []func()
	anchors anchorPublisher
}

// Close releases everything in reverse order of opening.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// openStores opens the database (migrating it when configured) and the
// audit log; enough for migrate, admin and audit commands.
func openStores(ctx context.Context, cfg *Config, log *slog.Logger, migrate bool) (*App, error) {
	a := &App{cfg: cfg, log: log}
	if cfg.Embedded() {
		// SQLite and the development keys live there.
		if err := checkWritableDir(cfg.DataDir, "data folder"); err != nil {
			return nil, err
		}
	}
	if err := resolveSecrets(cfg, log); err != nil {
		return nil, err
	}
	dsn := cfg.Database.DSN
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(cfg.DataDir, "louyuan.db")
	}
	db, err := sqlstore.Open(ctx, dsn, log)
	if err != nil {
		return nil, err
	}
	a.DB = db
	a.closers = append(a.closers, func() { db.Close() })
	if migrate {
		if err := db.Migrate(ctx, log); err != nil {
			a.Close()
			return nil, err
		}
	}
	a.Audit = sqlstore.NewAuditLog(db, audit.NewHasher(cfg.Security.AuditKey))
	return a, nil
}

// resolveSecrets fills the phone and audit keys. Outside the embedded
// default they must come from the environment; the embedded default makes
// them once and keeps them in the data folder, saying so loudly.
func resolveSecrets(cfg *Config, log *slog.Logger) error {
	if err := cfg.check(); err != nil {
		return err
	}
	if cfg.Security.PhoneKey != nil && cfg.Security.AuditKey != nil {
		return nil
	}
	if !cfg.Embedded() {
		var missing []string
		if cfg.Security.PhoneKey == nil {
			missing = append(missing, "LOUYUAN_PHONE_KEY")
		}
		if cfg.Security.AuditKey == nil {
			missing = append(missing, "LOUYUAN_AUDIT_KEY")
		}
		return fmt.Errorf("with a production database these secrets must be set in the environment: %s", strings.Join(missing, ", "))
	}
	path := filepath.Join(cfg.DataDir, "dev-secrets")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 64)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return err
		}
		b = []byte(base64.StdEncoding.EncodeToString(key))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return fmt.Errorf("write development secrets: %w", err)
		}
		log.Warn("embedded default: generated development keys; production must set LOUYUAN_PHONE_KEY and LOUYUAN_AUDIT_KEY", "file", path)
	} else if err != nil {
		return fmt.Errorf("read development secrets: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 64 {
		return fmt.Errorf("development secrets in %s are damaged; delete the data folder to start afresh", path)
	}
	if cfg.Security.PhoneKey == nil {
		cfg.Security.PhoneKey = key[:32]
	}
	if cfg.Security.AuditKey == nil {
		cfg.Security.AuditKey = key[32:]
	}
	return nil
}

// buildApp wires everything the HTTP server needs.
func buildApp(ctx context.Context, cfg *Config, log *slog.Logger) (*App, error) {
	a, err := openStores(ctx, cfg, log, cfg.Database.MigrateOnStart)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()

	if cfg.Redis.URL == "" {
		rdb, stop, err := redisstore.Embedded()
		if err != nil {
			return nil, err
		}
		a.Redis = rdb
		a.closers = append(a.closers, stop)
		log.Info("no LOUYUAN_REDIS_URL: using the in-process Redis (sessions end with the process)")
	} else {
		rdb, err := redisstore.Connect(ctx, cfg.Redis.URL)
		if err != nil {
			return nil, err
		}
		a.Redis = rdb
		a.closers = append(a.closers, func() { rdb.Close() })
	}

	wxCfg := wechat.Config{AppID: cfg.WeChat.AppID, AppSecret: cfg.WeChat.Secret, BaseURL: cfg.WeChat.BaseURL, Timeout: cfg.WeChat.Timeout, KeyPrefix: cfg.Redis.KeyPrefix}
	if cfg.WeChat.AppID == "" {
		fake, url, err := embeddedFake(log)
		if err != nil {
			return nil, err
		}
		a.Fake = fake
		wxCfg.AppID, wxCfg.AppSecret, wxCfg.BaseURL = demoAppID, demoSecret, url
		log.Info("no LOUYUAN_WECHAT_APPID: using the built-in fake WeChat API", "url", url)
		if err := writeFakeURL(cfg.DataDir, url); err != nil {
			return nil, fmt.Errorf("write the fake WeChat API's URL: %w", err)
		}
	} else if cfg.WeChat.Secret == "" {
		return nil, errors.New("LOUYUAN_WECHAT_SECRET must be set in the environment when LOUYUAN_WECHAT_APPID is")
	}
	wx, err := wechat.New(wxCfg, a.Redis, log)
	if err != nil {
		return nil, err
	}

	phones, err := identity.NewPhoneVault(cfg.Security.PhoneKey)
	if err != nil {
		return nil, err
	}
	if cfg.Files.Dir == "" {
		cfg.Files.Dir = filepath.Join(cfg.DataDir, "files")
	}
	if err := checkWritableDir(cfg.Files.Dir, "file folder"); err != nil {
		return nil, err
	}
	blobs, err := files.NewDir(cfg.Files.Dir)
	if err != nil {
		return nil, err
	}
	limiter := redisstore.NewLimiter(a.Redis, cfg.Redis.KeyPrefix)
	idCfg := identity.DefaultConfig()
	idCfg.AccessTTL, idCfg.UserRefreshTTL, idCfg.StaffRefreshTTL = cfg.Security.AccessTTL, cfg.Security.UserRefreshTTL, cfg.Security.StaffRefreshTTL
	idCfg.BcryptCost, idCfg.LoginPerIPPerMin = cfg.Security.BcryptCost, cfg.Security.LoginsPerIPMin
	idCfg.SigningKey = cfg.sessionSigningKey()

	a.Identity = identity.NewService(sqlstore.NewIdentity(a.DB), redisstore.NewSessions(a.Redis, cfg.Redis.KeyPrefix, cfg.Security.AccessTTL+time.Minute), weChatLogin{wx}, limiter, phones, a.Audit, idCfg, log)
	a.Roster = roster.NewService(sqlstore.NewRoster(a.DB), a.Audit, limiter)
	a.Roster.Places = sqlstore.NewPlaces(a.DB)
	a.Roster.InviteTriesPerHour, a.Roster.InviteTriesPerIPPerHour = cfg.Security.InviteTriesPerUserHour, cfg.Security.InviteTriesPerIPHour
	a.Files = files.NewService(blobs, sqlstore.NewFiles(a.DB), a.Audit)
	a.Voting = voting.NewService(sqlstore.NewVoting(a.DB).WithAudit(a.Audit), redisstore.NewTally(a.Redis, cfg.Redis.KeyPrefix), a.Audit, log)
	batchSize := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "louyuan_ballot_batch_size", Help: "Ballots recorded per transaction.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64}})
	batchWait := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "louyuan_ballot_batch_wait_seconds", Help: "How long the oldest ballot of a batch waited for it.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12)})
	batchTook := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "louyuan_ballot_batch_seconds", Help: "How long a ballot batch's transaction took (the live tally is updated after, off the batch worker).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12)})
	a.Voting.SetSecretMinElectorate(cfg.Voting.SecretMinElectorate)
	a.Voting.SetReceiptLimits(limiter, voting.ReceiptLimits{PerUser: cfg.Security.ReceiptChecksPerUserHour, PerIP: cfg.Security.ReceiptChecksPerIPHour})
	a.Voting.SetBatching(voting.Batching{Workers: cfg.Voting.BatchWorkers, Max: cfg.Voting.BatchMax, MinExtra: cfg.Voting.BatchMinExtra,
		Observe: func(size int, waited, took time.Duration) {
			batchSize.Observe(float64(size))
			batchWait.Observe(waited.Seconds())
			batchTook.Observe(took.Seconds())
		}})
	checkOpenID := cfg.WeChat.ContentCheckOpenID
	if checkOpenID == "" && a.Fake != nil {
		checkOpenID = a.Fake.User("louyuan-operator").OpenID
	}
	a.Petitions = petition.NewService(sqlstore.NewPetitions(a.DB), contentCheck{wx, checkOpenID, log}, a.Audit, log)
	a.Petitions.SetCostTables(sqlstore.NewPetitions(a.DB))
	calendar, err := loadCalendar(cfg.Calendar.HolidaysFile, time.Now(), log)
	if err != nil {
		return nil, err
	}
	a.Voting.SetCalendar(calendar)
	templates := cfg.Notices.Templates
	if len(templates) == 0 && a.Fake != nil {
		templates = demoTemplates()
	}
	for kind, t := range templates {
		if !slices.Contains(notice.Kinds, kind) {
			return nil, fmt.Errorf("notices.templates: %q is not a notice kind (kinds: %v)", kind, notice.Kinds)
		}
		if t.ID == "" {
			log.Warn("notices.templates: no template id; these notices are delivered in the mini-program only", "kind", kind)
		}
	}
	// The delivery workers wait for work in a blocking pop each, on
	// connections of their own (see redisstore.BlockingClient).
	pops := redisstore.BlockingClient(a.Redis, max(cfg.Notices.Workers, notice.DefaultWorkerConfig.Workers)+1)
	a.closers = append(a.closers, func() { pops.Close() })
	queue := redisstore.NewQueue(a.Redis, cfg.Redis.KeyPrefix, "notices").WithBlocking(pops)
	a.Notices = notice.NewService(sqlstore.NewNotices(a.DB), contentCheck{wx, checkOpenID, log}, queue,
		a.Audit, templates, log)
	a.Notices.ReminderBefore = cfg.Notices.ReminderBefore
	a.Delivery = notice.NewWorker(a.Notices, subscribeSender{wx}, redisstore.NewPacer(a.Redis, cfg.Redis.KeyPrefix), notice.WorkerConfig{Workers: cfg.Notices.Workers, RatePerSecond: cfg.Notices.RatePerSecond,
		Lease: cfg.Notices.Lease, Requeue: cfg.Notices.RequeueAfter})
	a.Voting.SetNotifier(notifier{a.Notices})
	a.Petitions.SetNotifier(notifier{a.Notices})
	if a.Councils, err = council.NewService(sqlstore.NewCouncils(a.DB), a.Voting, a.Audit, nil, log); err != nil {
		return nil, err
	}
	a.Councils.SetNotifier(notifier{a.Notices})
	a.Councils.SetStaffDirectory(a.Identity)
	a.Shares = share.NewService(sqlstore.NewShares(a.DB), shareDecrypter{wx}, a.Audit, log)
	a.Opinions = opinion.NewService(sqlstore.NewOpinions(a.DB), a.Voting, a.Petitions, a.Audit, log)
	a.Opinions.SetNotifier(notifier{a.Notices})
	a.Phones = phones
	a.API = &api.Server{
		Identity: a.Identity, Roster: a.Roster, Files: a.Files, Voting: a.Voting, Petitions: a.Petitions, Notices: a.Notices, Councils: a.Councils, Opinions: a.Opinions, Log: log,
		Shares: a.Shares,
		Phones: phones, VotingExport: sqlstore.NewVoting(a.DB), PetitionExport: sqlstore.NewPetitions(a.DB), AuditLog: a.Audit,
		TrustedProxies: cfg.HTTP.TrustedProxies,
		MaxBody:        cfg.HTTP.MaxBodyBytes, MaxUpload: cfg.HTTP.MaxUploadBytes, Collectors: []prometheus.Collector{batchSize, batchWait, batchTook},
		Checks: []api.Check{
			{Name: "database", Ping: a.DB.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() }},
		},
	}
	ok = true
	return a, nil
}

// The SDK's base URL is process-wide, so one process has one fake WeChat
// API, started by the first embedded App and shared by any later one.
var (
	fakeOnce sync.Once
	fake     *wechatfake.Server
	fakeURL  string
	fakeErr  error
)

func embeddedFake(log *slog.Logger) (*wechatfake.Server, string, error) {
	fakeOnce.Do(func() {
		fake = wechatfake.New(wechatfake.WithApp(demoAppID, demoSecret), wechatfake.WithLogger(log))
		fakeURL, fakeErr = fake.Start("127.0.0.1:0")
		if fakeErr != nil {
			fakeErr = fmt.Errorf("start the fake WeChat API: %w", fakeErr)
		}
	})
	return fake, fakeURL, fakeErr
}

// contentCheck adapts WeChat's msg_sec_check (v2) to petition and notice
// checks. WeChat wants the openid of a user who opened the mini-program in
// the last two hours; text written by staff (no openid) is checked as the
// configured operator account (wechat.content_check_openid) or, without
// one, reported as needing review — which staff may publish over.
type contentCheck struct {
	c        *wechat.Client
	operator string
	log      *slog.Logger
}

func (cc contentCheck) Check(ctx context.Context, openID, text string) (string, error) {
	if openID == "" {
		openID = cc.operator
	}
	if openID == "" {
		cc.log.WarnContext(ctx, "content check skipped: staff text and no wechat.content_check_openid configured")
		return wechat.SuggestReview, nil
	}
	r, err := cc.c.MsgSecCheck(ctx, openID, wechat.SceneForum, text)
	if err != nil {
		return "", weChatError(err)
	}
	return r.Suggest, nil
}

// weChatLogin adapts the WeChat client to identity.WeChat, turning WeChat's
// error codes into errors a resident can act on.
type weChatLogin struct{ c *wechat.Client }

func (w weChatLogin) Code2Session(ctx context.Context, code string) (identity.WeChatSession, error) {
	s, err := w.c.Code2Session(ctx, code)
	if err != nil {
		return identity.WeChatSession{}, weChatError(err)
	}
	return identity.WeChatSession{OpenID: s.OpenID, UnionID: s.UnionID, SessionKey: s.SessionKey}, nil
}

func (w weChatLogin) PhoneNumber(ctx context.Context, code string) (string, error) {
	p, err := w.c.PhoneNumber(ctx, code)
	return p, weChatError(err)
}

func weChatError(err error) error {
	if err == nil {
		return nil
	}
	switch wechat.ErrCode(err) {
	case wechat.CodeInvalidCode, wechat.CodeCodeUsed, 41008:
		return &louyuan.Error{Kind: louyuan.KindInvalid, Code: "wechat_code_invalid", Message: "微信授权已失效，请关闭小程序后重新进入", Err: err}
	case wechat.CodeRateLimited:
		return &louyuan.Error{Kind: louyuan.KindRateLimited, Code: "wechat_rate_limited", Message: "微信服务繁忙，请稍后再试", Err: err}
	}
	return &louyuan.Error{Kind: louyuan.KindUnavailable, Code: "wechat_unavailable", Message: "暂时无法连接微信服务，请稍后再试", Err: err}
}
