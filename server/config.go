package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/louyuan/louyuan/internal/notice"
	"github.com/louyuan/louyuan/internal/voting"
)

// Config is the server's whole configuration: defaults, then the YAML file
// (LOUYUAN_CONFIG or -config), then environment variables. Secrets have no
// YAML key: they come from the environment only.
type Config struct {
	HTTP struct {
		Addr            string        `yaml:"addr"`
		DebugAddr       string        `yaml:"debug_addr"`
		ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
		TrustedProxies  []string      `yaml:"trusted_proxies"`
		MaxBodyBytes    int64         `yaml:"max_body_bytes"`
		MaxUploadBytes  int64         `yaml:"max_upload_bytes"`
	} `yaml:"http"`
	// Metrics is where Prometheus scrapes /metrics: its own listener,
	// never the public API port.
	Metrics struct {
		Addr string `yaml:"addr"`
	} `yaml:"metrics"`
	DataDir  string `yaml:"data_dir"`
	Database struct {
		DSN            string `yaml:"-"` // LOUYUAN_DATABASE_DSN: may hold a password
		MigrateOnStart bool   `yaml:"migrate_on_start"`
	} `yaml:"database"`
	Redis struct {
		URL       string `yaml:"-"` // LOUYUAN_REDIS_URL: may hold a password
		KeyPrefix string `yaml:"key_prefix"`
	} `yaml:"redis"`
	WeChat struct {
		AppID   string        `yaml:"app_id"`
		Secret  string        `yaml:"-"` // LOUYUAN_WECHAT_SECRET
		BaseURL string        `yaml:"base_url"`
		Timeout time.Duration `yaml:"timeout"`
		// ContentCheckOpenID is the operator's openid that WeChat's content
		// check runs as for text written by staff.
		ContentCheckOpenID string `yaml:"content_check_openid"`
	} `yaml:"wechat"`
	Security struct {
		PhoneKey        []byte        `yaml:"-"` // LOUYUAN_PHONE_KEY, base64 of 32 bytes
		AuditKey        []byte        `yaml:"-"` // LOUYUAN_AUDIT_KEY, at least 32 bytes
		SessionKey      []byte        `yaml:"-"` // LOUYUAN_SESSION_KEY, optional, at least 32 bytes
		AccessTTL       time.Duration `yaml:"access_ttl"`
		UserRefreshTTL  time.Duration `yaml:"user_refresh_ttl"`
		StaffRefreshTTL time.Duration `yaml:"staff_refresh_ttl"`
		BcryptCost      int           `yaml:"bcrypt_cost"`
		LoginsPerIPMin  int           `yaml:"logins_per_ip_per_minute"`
		// Guessing limits, per hour (0: none).
		InviteTriesPerUserHour   int `yaml:"invite_tries_per_user_per_hour"`
		InviteTriesPerIPHour     int `yaml:"invite_tries_per_ip_per_hour"`
		ReceiptChecksPerUserHour int `yaml:"receipt_checks_per_user_per_hour"`
		ReceiptChecksPerIPHour   int `yaml:"receipt_checks_per_ip_per_hour"`
	} `yaml:"security"`
	Files struct {
		Dir string `yaml:"dir"`
	} `yaml:"files"`
	Scheduler struct {
		Interval time.Duration `yaml:"interval"`
	} `yaml:"scheduler"`
	Audit struct {
		// AnchorInterval is how often every audit stream's head is
		// published (a notice to each courtyard's council, a log line);
		// periods start at 00:00 China time. 0 publishes nothing.
		AnchorInterval time.Duration `yaml:"anchor_interval"`
	} `yaml:"audit"`
	Voting struct {
		BatchWorkers int `yaml:"batch_workers"`
		BatchMax     int `yaml:"batch_max"`
		// BatchMinExtra is how many ballots must wait before a batch
		// starts beside one already running (see voting.Batching).
		BatchMinExtra int `yaml:"batch_min_extra"`
		// SecretMinElectorate is the fewest households a secret ballot
		// may have: below it the published counts give choices away.
		SecretMinElectorate int `yaml:"secret_min_electorate"`
	} `yaml:"voting"`
	Notices struct {
		Workers        int                        `yaml:"workers"`
		RatePerSecond  int                        `yaml:"rate_per_second"`
		ReminderBefore time.Duration              `yaml:"reminder_before"`
		Lease          time.Duration              `yaml:"lease"`
		RequeueAfter   time.Duration              `yaml:"requeue_after"`
		Templates      map[string]notice.Template `yaml:"templates"`
	} `yaml:"notices"`
	// Calendar is the official holiday calendar periods are counted with.
	Calendar struct {
		// HolidaysFile is a JSON file of years (holidays and make-up working
		// days) that replaces the embedded years it names and adds others.
		HolidaysFile string `yaml:"holidays_file"`
	} `yaml:"calendar"`
	Demo bool `yaml:"demo"`
	Log  struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`

	// DemoPassword (LOUYUAN_DEMO_PASSWORD only) is the demo staff account's
	// password when the demo is seeded into a production database.
	DemoPassword string `yaml:"-"`
}

// sessionSigningKey is the key that signs access tokens:
// LOUYUAN_SESSION_KEY when set, else derived from the audit key (so that a
// deployment needs no further secret; every instance shares it).
func (c *Config) sessionSigningKey() []byte {
	if len(c.Security.SessionKey) > 0 {
		return c.Security.SessionKey
	}
	m := hmac.New(sha256.New, c.Security.AuditKey)
	m.Write([]byte("louyuan access token signing"))
	return m.Sum(nil)
}

// Embedded reports whether the server runs on its built-in defaults
// (SQLite, in-process Redis and the fake WeChat API).
func (c *Config) Embedded() bool { return c.Database.DSN == "" }

func defaultConfig() *Config {
	c := &Config{}
	c.HTTP.Addr = ":8080"
	c.HTTP.ShutdownTimeout = 15 * time.Second
	c.HTTP.MaxBodyBytes = 64 << 10
	c.HTTP.MaxUploadBytes = 10 << 20
	c.Metrics.Addr = "127.0.0.1:9090"
	c.DataDir = "data"
	c.Database.MigrateOnStart = true
	c.Redis.KeyPrefix = "louyuan:"
	c.WeChat.Timeout = 5 * time.Second
	c.Security.AccessTTL = 2 * time.Hour
	c.Security.UserRefreshTTL = 30 * 24 * time.Hour
	c.Security.StaffRefreshTTL = 7 * 24 * time.Hour
	c.Security.BcryptCost = 12
	c.Security.LoginsPerIPMin = 120
	c.Security.InviteTriesPerUserHour = 10
	c.Security.InviteTriesPerIPHour = 60
	c.Security.ReceiptChecksPerUserHour = 30
	c.Security.ReceiptChecksPerIPHour = 300
	c.Scheduler.Interval = 5 * time.Second
	c.Audit.AnchorInterval = 24 * time.Hour
	c.Voting.BatchWorkers = voting.DefaultBatching.Workers
	c.Voting.BatchMax = voting.DefaultBatching.Max
	c.Voting.BatchMinExtra = voting.DefaultBatching.MinExtra
	c.Voting.SecretMinElectorate = voting.DefaultSecretMinElectorate
	c.Notices.Workers = notice.DefaultWorkerConfig.Workers
	c.Notices.RatePerSecond = notice.DefaultWorkerConfig.RatePerSecond
	c.Notices.ReminderBefore = 24 * time.Hour
	c.Notices.Lease = notice.DefaultWorkerConfig.Lease
	c.Notices.RequeueAfter = notice.DefaultWorkerConfig.Requeue
	c.Log.Level = "info"
	c.Log.Format = "json"
	return c
}

// loadConfig builds the configuration. path may be empty.
func loadConfig(path string) (*Config, error) {
	c := defaultConfig()
	if path == "" {
		path = os.Getenv("LOUYUAN_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := yaml.Unmarshal(b, c); err != nil {
			return nil, fmt.Errorf("parse config %s: %w", path, err)
		}
	}
	if err := c.applyEnv(os.LookupEnv); err != nil {
		return nil, err
	}
	if c.Files.Dir == "" {
		c.Files.Dir = filepath.Join(c.DataDir, "files")
	}
	return c, nil
}

// applyEnv overrides fields from LOUYUAN_* variables.
func (c *Config) applyEnv(lookup func(string) (string, bool)) error {
	str := map[string]*string{
		"LOUYUAN_HTTP_ADDR":                   &c.HTTP.Addr,
		"LOUYUAN_DEBUG_ADDR":                  &c.HTTP.DebugAddr,
		"LOUYUAN_METRICS_ADDR":                &c.Metrics.Addr,
		"LOUYUAN_DATA_DIR":                    &c.DataDir,
		"LOUYUAN_DATABASE_DSN":                &c.Database.DSN,
		"LOUYUAN_REDIS_URL":                   &c.Redis.URL,
		"LOUYUAN_REDIS_PREFIX":                &c.Redis.KeyPrefix,
		"LOUYUAN_WECHAT_APPID":                &c.WeChat.AppID,
		"LOUYUAN_WECHAT_SECRET":               &c.WeChat.Secret,
		"LOUYUAN_WECHAT_BASE_URL":             &c.WeChat.BaseURL,
		"LOUYUAN_WECHAT_CONTENT_CHECK_OPENID": &c.WeChat.ContentCheckOpenID,
		"LOUYUAN_FILES_DIR":                   &c.Files.Dir,
		"LOUYUAN_CALENDAR_HOLIDAYS_FILE":      &c.Calendar.HolidaysFile,
		"LOUYUAN_LOG_LEVEL":                   &c.Log.Level,
		"LOUYUAN_LOG_FORMAT":                  &c.Log.Format,
		"LOUYUAN_DEMO_PASSWORD":               &c.DemoPassword,
	}
	for name, p := range str {
		if v, ok := lookup(name); ok {
			*p = v
		}
	}
	durations := map[string]*time.Duration{
		"LOUYUAN_ACCESS_TTL":              &c.Security.AccessTTL,
		"LOUYUAN_USER_REFRESH_TTL":        &c.Security.UserRefreshTTL,
		"LOUYUAN_STAFF_REFRESH_TTL":       &c.Security.StaffRefreshTTL,
		"LOUYUAN_WECHAT_TIMEOUT":          &c.WeChat.Timeout,
		"LOUYUAN_SHUTDOWN_TIMEOUT":        &c.HTTP.ShutdownTimeout,
		"LOUYUAN_SCHEDULER_INTERVAL":      &c.Scheduler.Interval,
		"LOUYUAN_AUDIT_ANCHOR_INTERVAL":   &c.Audit.AnchorInterval,
		"LOUYUAN_NOTICES_REMINDER_BEFORE": &c.Notices.ReminderBefore,
		"LOUYUAN_NOTICES_LEASE":           &c.Notices.Lease,
		"LOUYUAN_NOTICES_REQUEUE_AFTER":   &c.Notices.RequeueAfter,
	}
	for name, p := range durations {
		if v, ok := lookup(name); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*p = d
		}
	}
	ints := map[string]*int{"LOUYUAN_BCRYPT_COST": &c.Security.BcryptCost, "LOUYUAN_LOGINS_PER_IP_PER_MINUTE": &c.Security.LoginsPerIPMin,
		"LOUYUAN_INVITE_TRIES_PER_USER_PER_HOUR": &c.Security.InviteTriesPerUserHour, "LOUYUAN_INVITE_TRIES_PER_IP_PER_HOUR": &c.Security.InviteTriesPerIPHour,
		"LOUYUAN_RECEIPT_CHECKS_PER_USER_PER_HOUR": &c.Security.ReceiptChecksPerUserHour, "LOUYUAN_RECEIPT_CHECKS_PER_IP_PER_HOUR": &c.Security.ReceiptChecksPerIPHour,
		"LOUYUAN_VOTING_BATCH_WORKERS": &c.Voting.BatchWorkers, "LOUYUAN_VOTING_BATCH_MAX": &c.Voting.BatchMax,
		"LOUYUAN_VOTING_BATCH_MIN_EXTRA":       &c.Voting.BatchMinExtra,
		"LOUYUAN_VOTING_SECRET_MIN_ELECTORATE": &c.Voting.SecretMinElectorate,
		"LOUYUAN_NOTICES_WORKERS":              &c.Notices.Workers, "LOUYUAN_NOTICES_RATE_PER_SECOND": &c.Notices.RatePerSecond}
	for name, p := range ints {
		if v, ok := lookup(name); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*p = n
		}
	}
	for name, p := range map[string]*bool{"LOUYUAN_DEMO": &c.Demo, "LOUYUAN_MIGRATE_ON_START": &c.Database.MigrateOnStart} {
		if v, ok := lookup(name); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*p = b
		}
	}
	if v, ok := lookup("LOUYUAN_NOTICES_TEMPLATES"); ok && v != "" {
		var ts map[string]notice.Template
		if err := json.Unmarshal([]byte(v), &ts); err != nil {
			return fmt.Errorf("LOUYUAN_NOTICES_TEMPLATES must be JSON like {\"notice\":{\"id\":\"…\",\"fields\":{\"thing1\":\"title\"}}}: %w", err)
		}
		c.Notices.Templates = ts
	}
	if v, ok := lookup("LOUYUAN_PHONE_KEY"); ok && v != "" {
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(k) != 32 {
			return fmt.Errorf("LOUYUAN_PHONE_KEY must be the base64 of 32 random bytes (openssl rand -base64 32)")
		}
		c.Security.PhoneKey = k
	}
	if v, ok := lookup("LOUYUAN_TRUSTED_PROXIES"); ok {
		c.HTTP.TrustedProxies = nil
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.HTTP.TrustedProxies = append(c.HTTP.TrustedProxies, p)
			}
		}
	}
	if v, ok := lookup("LOUYUAN_AUDIT_KEY"); ok && v != "" {
		c.Security.AuditKey = []byte(v)
	}
	if v, ok := lookup("LOUYUAN_SESSION_KEY"); ok && v != "" {
		c.Security.SessionKey = []byte(v)
	}
	return c.check()
}

// minKeyBytes is the shortest audit or session key accepted: an HMAC key
// shorter than its hash's output is guessable sooner than the hash itself.
const minKeyBytes = 32

// check refuses settings the server must not start with.
func (c *Config) check() error {
	for _, p := range c.HTTP.TrustedProxies {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				return fmt.Errorf("http.trusted_proxies / LOUYUAN_TRUSTED_PROXIES: %q is neither an IP address nor a CIDR range (e.g. 10.0.0.0/8)", p)
			}
		}
	}
	if n := len(c.Security.AuditKey); n > 0 && n < minKeyBytes {
		return fmt.Errorf("LOUYUAN_AUDIT_KEY is %d bytes; it must be at least %d random bytes (e.g. openssl rand -hex 32)", n, minKeyBytes)
	}
	if n := len(c.Security.SessionKey); n > 0 && n < minKeyBytes {
		return fmt.Errorf("LOUYUAN_SESSION_KEY is %d bytes; it must be at least %d random bytes (e.g. openssl rand -hex 32)", n, minKeyBytes)
	}
	return nil
}
