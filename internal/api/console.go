package api

import (
	"context"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/console"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// consoleTypes are the content types of the console's files, fixed here
// rather than read from the host's MIME tables.
var consoleTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".json":  "application/json",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".ttf":   "font/ttf",
	".txt":   "text/plain; charset=utf-8",
}

// consoleRoutes serves the staff console embedded from internal/console at
// /console/: a file when one exists, index.html for every other path (the
// single-page application routes in the browser), 404 for missing assets.
func (s *Server) consoleRoutes(r *gin.Engine) {
	assets := s.Console
	if assets == nil {
		assets = console.Assets()
	}
	r.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/console/") })
	r.GET("/console/*path", func(c *gin.Context) { serveConsole(c, assets) })
}

func serveConsole(c *gin.Context, assets fs.FS) {
	name := strings.TrimPrefix(path.Clean("/"+c.Param("path")), "/")
	if name == "" {
		name = "index.html"
	}
	body, err := fs.ReadFile(assets, name)
	if err != nil {
		if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" && name != "index.html" {
			fail(c, errNoRoute)
			return
		}
		name = "index.html"
		if body, err = fs.ReadFile(assets, name); err != nil {
			fail(c, errNoRoute)
			return
		}
	}
	ct, ok := consoleTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	h := c.Header
	h("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(name, "assets/") {
		h("Cache-Control", "public, max-age=31536000, immutable") // names carry a content hash
	} else {
		h("Cache-Control", "no-cache")
		h("X-Frame-Options", "DENY")
	}
	c.Data(http.StatusOK, ct, body)
}

type courtyardsResponse struct {
	Courtyards []courtyardJSON `json:"courtyards"`
}

type courtyardJSON struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Address       string `json:"address"`
	CommunityID   int64  `json:"community_id"`
	Community     string `json:"community"`
	SubdistrictID int64  `json:"subdistrict_id"`
	Subdistrict   string `json:"subdistrict"`
}

// myCourtyards lists the courtyards the caller works in as staff or council:
// the top of the console's places tree.
func (s *Server) myCourtyards(c *gin.Context) {
	cs, err := s.Roster.CourtyardsFor(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	out := courtyardsResponse{Courtyards: make([]courtyardJSON, len(cs))}
	for i, y := range cs {
		out.Courtyards[i] = courtyardJSON{ID: y.ID, Name: y.Name, Address: y.Address, CommunityID: y.CommunityID,
			Community: y.Community, SubdistrictID: y.SubdistrictID, Subdistrict: y.Subdistrict}
	}
	c.JSON(http.StatusOK, out)
}

// AuditReader reads the audit log for the console: a courtyard's entries
// and the verification of every chain.
type AuditReader interface {
	Search(ctx context.Context, q audit.Query) ([]audit.Entry, int64, error)
	Verify(ctx context.Context) (checked int, problems []audit.Problem, err error)
}

var (
	errAuditUnavailable = &louyuan.Error{Kind: louyuan.KindUnavailable, Code: "audit_unavailable", Message: "审计日志暂时无法查询"}
	errAuditBadTime     = louyuan.Invalid("bad_time", "时间格式不正确")
	errVerifyForbidden  = louyuan.Forbidden("audit_verify_forbidden", "只有街道管理员可以核验审计日志")
)

type auditEntryJSON struct {
	Stream    string         `json:"stream"`
	Seq       int64          `json:"seq"`
	At        time.Time      `json:"at"`
	Actor     string         `json:"actor"`
	Action    string         `json:"action"`
	Object    string         `json:"object"`
	IP        string         `json:"ip"`
	RequestID string         `json:"request_id"`
	Detail    map[string]any `json:"detail"`
	Hash      string         `json:"hash"`
}

// courtyardAudit pages through a courtyard's audit entries for its staff,
// filtered on the server by who, what, when and object.
func (s *Server) courtyardAudit(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if _, err := s.Roster.CourtyardForStaff(ctx, principal(c), id); err != nil {
		fail(c, err)
		return
	}
	if s.AuditLog == nil {
		fail(c, errAuditUnavailable)
		return
	}
	q := audit.Query{CourtyardID: id, Actor: c.Query("actor"), Action: c.Query("action"), Object: c.Query("object")}
	for _, b := range []struct {
		name string
		to   *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := c.Query(b.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				fail(c, errAuditBadTime)
				return
			}
			*b.to = t
		}
	}
	pq := readPage(c, 20)
	pq.all = false // the audit log always pages
	q.Offset, q.Limit = pq.offset(), pq.size
	entries, total, err := s.AuditLog.Search(ctx, q)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]auditEntryJSON, len(entries))
	for i, e := range entries {
		d := e.Detail
		if d == nil {
			d = map[string]any{}
		}
		out[i] = auditEntryJSON{Stream: e.Stream, Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Object: e.Object,
			IP: e.IP, RequestID: e.RequestID, Detail: d, Hash: e.Hash}
	}
	sendPage(c, "entries", out, int(total), pq, nil)
}

func queryInt(c *gin.Context, name string, def, lo, hi int) int {
	n, err := strconv.Atoi(c.Query(name))
	if err != nil {
		return def
	}
	return min(max(n, lo), hi)
}

type auditProblemJSON struct {
	Stream string `json:"stream"`
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// verifyAudit checks every hash chain of the audit log; subdistrict
// administrators only (the log spans every courtyard).
func (s *Server) verifyAudit(c *gin.Context) {
	p := principal(c)
	allowed := false
	for _, g := range p.Grants {
		allowed = allowed || g.Role == identity.RoleSubdistrictAdmin
	}
	if !allowed {
		fail(c, errVerifyForbidden)
		return
	}
	if s.AuditLog == nil {
		fail(c, errAuditUnavailable)
		return
	}
	checked, problems, err := s.AuditLog.Verify(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]auditProblemJSON, len(problems))
	for i, pr := range problems {
		out[i] = auditProblemJSON{Stream: pr.Stream, Seq: pr.Seq, Reason: pr.Reason}
	}
	c.JSON(http.StatusOK, gin.H{"checked": checked, "intact": len(problems) == 0, "problems": out})
}
