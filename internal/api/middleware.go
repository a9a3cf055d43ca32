package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

const (
	requestIDKey = "request_id"
	principalKey = "principal"
)

// requestID takes a sane X-Request-ID from the client or makes one, and
// puts it with the client IP where the audit log will find it.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		rid := c.GetHeader("X-Request-ID")
		if rid == "" || len(rid) > 64 || strings.ContainsAny(rid, " \t\r\n\"") {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			rid = hex.EncodeToString(b)
		}
		c.Set(requestIDKey, rid)
		c.Header("X-Request-ID", rid)
		c.Request = c.Request.WithContext(audit.WithOrigin(c.Request.Context(), audit.Origin{IP: c.ClientIP(), RequestID: rid}))
		c.Next()
	}
}

// securityHeaders marks every answer as what it says it is (no sniffing)
// and not to be stored by caches: answers carry personal data, and a
// handler that may be cached (an uploaded file, privately) says so itself.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		c.Next()
	}
}

// accessLog logs one line per request. Query strings are left out: they
// can carry codes and tokens.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "/healthz" || route == "/metrics" {
			return
		}
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
		if !log.Enabled(c.Request.Context(), level) {
			return
		}
		log.Log(c.Request.Context(), level, "request", "method", c.Request.Method, "route", route, "status", c.Writer.Status(),
			"elapsed_ms", time.Since(start).Milliseconds(), "request_id", c.GetString(requestIDKey), "ip", c.ClientIP())
	}
}

// metrics counts requests and their latency by route.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "louyuan_http_requests_total", Help: "HTTP requests by route and status."}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "louyuan_http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *metrics) handler() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
		m.latency.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
	}
}

// limitBody caps request bodies; a bigger body fails with 413 when read.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			fail(c, errTooLarge)
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}

// recovery turns a panic into a 500 JSON error and a log line.
func recovery() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		slog.ErrorContext(c.Request.Context(), "panic", "request_id", c.GetString(requestIDKey), "panic", rec)
		fail(c, louyuan.Internalf(fmt.Errorf("%v", rec), "panic"))
	})
}

// authenticate resolves the bearer token; handlers read the principal with
// principal(c).
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := s.Identity.Authenticate(c.Request.Context(), bearerToken(c))
		if err != nil {
			fail(c, err)
			return
		}
		c.Set(principalKey, p)
		c.Next()
	}
}

// authenticateIdentity is authenticate without the roles (see
// identity.Service.AuthenticateIdentity), for routes whose service checks
// the caller inside its own transaction.
func (s *Server) authenticateIdentity() gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := s.Identity.AuthenticateIdentity(c.Request.Context(), bearerToken(c))
		if err != nil {
			fail(c, err)
			return
		}
		c.Set(principalKey, p)
		c.Next()
	}
}

// bearerToken reads "Authorization: Bearer <token>" (scheme case-insensitive).
func bearerToken(c *gin.Context) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(c.GetHeader("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// only answers refusal to a caller of another kind than kind (a staff
// account on a mini-program user's route, or the reverse) before the
// handler reads the request body: whatever the body, that caller may not
// use the route (its service checks again).
func only(kind identity.Kind, refusal error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if principal(c).Kind != kind {
			fail(c, refusal)
			c.Abort()
		}
	}
}

// seenFirst answers, before the handler reads the request body, a caller
// to whom the object in the path does not exist with the 404 a read of it
// gives them (see), so that what they send can tell them nothing of an
// object they may not see; any other refusal is left to the route.
func seenFirst(see func(ctx context.Context, p identity.Principal, id int64) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := idParam(c, "id")
		if !ok {
			c.Abort()
			return
		}
		if err := see(c.Request.Context(), principal(c), id); err != nil && louyuan.ErrorKind(err) == louyuan.KindNotFound {
			fail(c, err)
			c.Abort()
		}
	}
}

// errNoRole refuses a caller who holds no role at all on a route only
// council members and staff may use.
var errNoRole = louyuan.Forbidden("not_in_scope", "只有理事会成员或社区、街道工作人员可以办理此事")

// anyRole refuses, before the handler reads the request body, a caller
// who holds no role at all — a resident with no council seat, an account
// whose grants were all revoked — on a route where nobody without one may
// act, whatever they send. The service still checks the role and its
// scope.
func anyRole(c *gin.Context) {
	if len(principal(c).Grants) == 0 {
		fail(c, errNoRole)
		c.Abort()
	}
}

// usersOnly is only(identity.KindUser, refusal).
func usersOnly(refusal error) gin.HandlerFunc { return only(identity.KindUser, refusal) }

func principal(c *gin.Context) identity.Principal {
	p, _ := c.Get(principalKey)
	return p.(identity.Principal)
}

// The write routes of motions, petitions, opinions, surveys and candidates
// (and a delegation's accept and confirm) answer a caller who cannot see
// the object before reading the body (seenFirst).
// Not the ballot and signature routes: their rights depend on the body's
// household, and they are the hot path.
func (s *Server) motionSeen(c *gin.Context) {
	seenFirst(func(ctx context.Context, p identity.Principal, id int64) error {
		_, err := s.Voting.Motion(ctx, p, id)
		return err
	})(c)
}

func (s *Server) petitionSeen(c *gin.Context)  { seenFirst(s.Petitions.Visible)(c) }
func (s *Server) opinionSeen(c *gin.Context)   { seenFirst(s.Opinions.Visible)(c) }
func (s *Server) surveySeen(c *gin.Context)    { seenFirst(s.Opinions.SurveyVisible)(c) }
func (s *Server) candidateSeen(c *gin.Context) { seenFirst(s.Councils.CandidateVisible)(c) }
