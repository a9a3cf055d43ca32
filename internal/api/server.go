// Package api is Louyuan's HTTP interface on Gin: routes, request and
// response types, middleware, the error-to-status table and the OpenAPI
// document. Handlers decode, call a domain service with the request's
// context, and encode; they hold no business rules.
package api

import (
	"context"
	_ "embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/notice"
	"github.com/louyuan/louyuan/internal/opinion"
	"github.com/louyuan/louyuan/internal/petition"
	"github.com/louyuan/louyuan/internal/roster"
	"github.com/louyuan/louyuan/internal/share"
	"github.com/louyuan/louyuan/internal/voting"
)

//go:embed openapi.yaml
var openAPIDoc []byte

// Check is a named readiness probe (database, Redis).
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// Server holds the services the handlers call.
type Server struct {
	Identity  *identity.Service
	Roster    *roster.Service
	Files     *files.Service
	Voting    *voting.Service
	Petitions *petition.Service
	Notices   *notice.Service
	Councils  *council.Service
	Shares    *share.Service
	Opinions  *opinion.Service
	// Phones opens encrypted phones for exports with the permission.
	Phones         interface{ Open([]byte) (string, error) }
	VotingExport   voting.ExportStore
	PetitionExport petition.ExportStore
	Checks         []Check
	// Collectors are the application's own metrics, served with the
	// HTTP ones by MetricsHandler.
	Collectors []prometheus.Collector
	// TrustedProxies are the addresses (IPs or CIDR ranges) of the load
	// balancers whose X-Forwarded-For / X-Real-IP headers say who the
	// client is. From anyone else those headers are ignored: the client
	// is the TCP peer. Empty trusts no one.
	TrustedProxies []string
	Log            *slog.Logger
	// MaxBody caps JSON bodies; MaxUpload caps roster and file uploads.
	MaxBody   int64
	MaxUpload int64
	// Console is the staff console's built files; nil serves the embedded build.
	Console fs.FS
	// AuditLog serves the console's audit log pages.
	AuditLog AuditReader

	rendered renderedTallies

	metricsOnce sync.Once
	registry    *prometheus.Registry
	httpMetrics *metrics
}

// initMetrics builds the registry once: Handler counts requests into it and
// MetricsHandler serves it.
func (s *Server) initMetrics() {
	s.metricsOnce.Do(func() {
		s.registry = prometheus.NewRegistry()
		s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		s.registry.MustRegister(s.Collectors...)
		s.httpMetrics = newMetrics(s.registry)
	})
}

// MetricsHandler serves the Prometheus metrics. It is not a route of the
// API: the server listens for it on a separate, private address.
func (s *Server) MetricsHandler() http.Handler {
	s.initMetrics()
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

// Handler builds the Gin engine with every route.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	registerJSONNames()
	if s.MaxBody == 0 {
		s.MaxBody = 64 << 10
	}
	if s.MaxUpload == 0 {
		s.MaxUpload = 10 << 20
	}
	s.initMetrics()
	m := s.httpMetrics

	r := gin.New()
	// Client IPs (the per-IP login limit, the audit log) come from
	// forwarding headers only when a configured proxy sent them.
	if err := r.SetTrustedProxies(s.TrustedProxies); err != nil {
		s.Log.Error("bad trusted proxies; trusting none", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = true
	r.Use(securityHeaders(), requestID(), recovery(), accessLog(s.Log), m.handler())
	r.NoRoute(func(c *gin.Context) { fail(c, errNoRoute) })
	r.NoMethod(func(c *gin.Context) { fail(c, errNoMethod) })

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	s.consoleRoutes(r)
	r.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml; charset=utf-8", openAPIDoc) })

	small, upload := limitBody(s.MaxBody), limitBody(s.MaxUpload)
	v1 := r.Group("/api/v1")
	v1.POST("/auth/wechat/login", small, s.wechatLogin)
	v1.POST("/auth/staff/login", small, s.staffLogin)
	v1.POST("/auth/refresh", small, s.refresh)
	v1.GET("/roster-template.xlsx", s.rosterTemplate)

	a := v1.Group("", s.authenticate())
	// Casting a ballot needs only who the caller is: the ballot's
	// transaction checks on a locked row that they represent the household.
	v1.Group("", s.authenticateIdentity()).POST("/motions/:id/ballots", small, usersOnly(voting.ErrCastUsersOnly), s.castBallot)
	a.POST("/auth/logout", small, s.logout)
	a.GET("/me", s.me)
	a.POST("/me/phone", small, usersOnly(identity.ErrPhoneUsersOnly), s.bindPhone)
	a.GET("/me/households", s.myHouseholds)
	a.GET("/me/courtyards", s.myCourtyards)
	a.GET("/courtyards/:id/audit", s.courtyardAudit)
	a.GET("/audit/verification", s.verifyAudit)
	a.POST("/me/households", small, usersOnly(roster.ErrBindUsersOnly), s.bindWithInvite)
	a.POST("/households/:id/bind-requests", small, usersOnly(roster.ErrBindRequestUsersOnly), s.requestBind)
	s.lookupRoutes(a)
	a.POST("/households/:id/representative-requests", small, s.requestRepresentative)
	a.DELETE("/households/:id/members/:user_id", s.unbind)
	a.GET("/courtyards/:id/households", s.courtyardHouseholds)
	a.GET("/courtyards/:id/requests", s.pendingRequests)
	a.POST("/courtyards/:id/roster", upload, s.importRoster)
	a.POST("/courtyards/:id/invites", small, anyRole, s.issueInvites)
	a.PUT("/courtyards/:id/settings", small, anyRole, s.setCourtyardSettings)
	a.POST("/requests/:kind/:id/decision", small, anyRole, s.decide)
	a.POST("/grants", small, anyRole, s.grant)
	a.POST("/grants/revoke", small, anyRole, s.revokeGrant)
	a.POST("/files", upload, s.uploadFile)
	a.GET("/files/:key", s.downloadFile)

	a.GET("/me/motions", s.myMotions)
	a.GET("/me/delegations", s.myDelegations)
	a.POST("/courtyards/:id/motions", small, anyRole, s.createMotion)
	a.GET("/courtyards/:id/motions", s.listMotions)
	a.GET("/motions/:id", s.motionDetail)
	a.POST("/motions/:id/publish", s.motionStep(publishStep))
	a.POST("/motions/:id/cancel", s.motionStep(cancelStep))
	a.POST("/motions/:id/open", s.motionStep(openStep))
	a.POST("/motions/:id/close", s.motionStep(closeStep))
	a.POST("/motions/:id/finalize", s.motionStep(finalizeStep))
	a.POST("/motions/:id/extend", small, s.motionSeen, s.extendMotion)
	a.POST("/motions/:id/proxy-ballots", small, usersOnly(voting.ErrProxyUsersOnly), s.castAsProxy)
	a.POST("/motions/:id/paper-ballots", small, s.motionSeen, s.enterPaper)
	a.GET("/motions/:id/turnout", s.turnout)
	a.GET("/motions/:id/reconciliation", s.reconcile)
	a.GET("/receipts/:code", s.verifyReceipt)
	a.POST("/delegations", small, usersOnly(voting.ErrDelegateUsersOnly), s.delegate)
	a.POST("/delegations/:id/accept", small, seenFirst(s.Voting.AcceptVisible), s.acceptDelegation)
	a.POST("/delegations/:id/confirm", small, seenFirst(s.Voting.ConfirmVisible), s.confirmDelegation)
	a.POST("/delegations/:id/revoke", s.revokeDelegation)

	a.GET("/me/petitions", s.myPetitions)
	a.POST("/courtyards/:id/petitions", small, anyRole, s.createPetition)
	a.GET("/courtyards/:id/petitions", s.listPetitions)
	a.GET("/petitions/:id", s.petitionDetail)
	a.POST("/petitions/:id/publish", s.publishPetition)
	a.POST("/petitions/:id/close", s.closePetition)
	a.PUT("/petitions/:id/cost-plan", small, s.petitionSeen, s.setCostPlan)
	a.POST("/petitions/:id/signatures", small, usersOnly(petition.ErrSignUsersOnly), s.signPetition)
	a.POST("/petitions/:id/paper-signatures", small, s.petitionSeen, s.paperSignature)
	a.DELETE("/petitions/:id/signatures/:household_id", s.withdrawSignature)
	a.POST("/petitions/:id/payments", small, s.petitionSeen, s.recordPayment)
	a.GET("/petitions/:id/totals", s.petitionTotals)
	a.GET("/petitions/:id/export.xlsx", s.exportSignatures("xlsx"))
	a.GET("/petitions/:id/export.csv", s.exportSignatures("csv"))
	s.recordsRoutes(a, small)
	a.POST("/notices", small, anyRole, s.createNotice)
	a.POST("/notices/preview", small, anyRole, s.previewNotice)
	a.GET("/courtyards/:id/notices", s.listNotices)
	a.GET("/notices/:id", s.noticeDetail)
	a.POST("/notices/:id/approve", s.approveNotice)
	a.POST("/notices/:id/send", s.sendNotice)
	a.GET("/notices/:id/report", s.noticeReport)
	a.POST("/notices/:id/read", s.markNoticeRead)
	a.GET("/notices/:id/images/:key", s.noticeImage)
	a.GET("/me/notices", s.myNotices)
	a.GET("/me/notices/unread", s.myUnreadNotices)
	a.GET("/me/subscriptions", s.mySubscriptions)
	a.POST("/me/subscriptions", small, usersOnly(notice.ErrSubscribeUsersOnly), s.subscribe)
	a.GET("/courtyards/:id/wechat-group", s.weChatGroup)
	a.POST("/courtyards/:id/wechat-group", small, anyRole, usersOnly(share.ErrUsersOnly), s.linkWeChatGroup)
	a.POST("/notices/:id/opens", small, usersOnly(share.ErrUsersOnly), s.openFromGroup)
	a.GET("/motions/:id/results.xlsx", s.exportResults("xlsx"))
	a.GET("/motions/:id/results.csv", s.exportResults("csv"))
	s.councilRoutes(a, small)
	s.opinionRoutes(a, small)
	s.surveyRoutes(a, small)
	s.staffRoutes(a, small)
	s.placeRoutes(a, small)
	return r
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	status, code := gin.H{}, http.StatusOK
	for _, ch := range s.Checks {
		if err := ch.Ping(ctx); err != nil {
			status[ch.Name] = "down"
			code = http.StatusServiceUnavailable
			s.Log.WarnContext(ctx, "readiness check failed", "check", ch.Name, "err", err)
		} else {
			status[ch.Name] = "ok"
		}
	}
	c.JSON(code, status)
}

func idParam(c *gin.Context, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		fail(c, errBadID)
		return 0, false
	}
	return id, true
}
