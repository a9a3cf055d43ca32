package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/roster"
	"github.com/louyuan/louyuan/internal/spreadsheet"
)

var (
	errNoRoute  = louyuan.NotFound("no_route", "没有这个接口")
	errNoMethod = &louyuan.Error{Kind: louyuan.KindMethodNotAllowed, Code: "method_not_allowed", Message: "该接口不支持此请求方法"}
)

type loginRequest struct {
	Code string `json:"code" binding:"required,max=128"`
}

type userResponse struct {
	ID          int64  `json:"id"`
	RealName    string `json:"real_name"`
	PhoneMasked string `json:"phone_masked"`
}

type loginResponse struct {
	identity.Tokens
	User *userResponse `json:"user,omitempty"`
}

func (s *Server) wechatLogin(c *gin.Context) {
	var req loginRequest
	if !bindJSON(c, &req) {
		return
	}
	t, u, err := s.Identity.LoginWeChat(c.Request.Context(), req.Code, c.ClientIP())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, loginResponse{Tokens: t, User: &userResponse{ID: u.ID, RealName: u.RealName, PhoneMasked: u.PhoneMasked}})
}

type staffLoginRequest struct {
	Username string `json:"username" binding:"required,max=64"`
	Password string `json:"password" binding:"required,max=72"`
}

func (s *Server) staffLogin(c *gin.Context) {
	var req staffLoginRequest
	if !bindJSON(c, &req) {
		return
	}
	t, _, err := s.Identity.LoginStaff(c.Request.Context(), req.Username, req.Password, c.ClientIP())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, loginResponse{Tokens: t})
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token" binding:"required,max=400"`
}

func (s *Server) refresh(c *gin.Context) {
	var req refreshRequest
	if !bindJSON(c, &req) {
		return
	}
	t, err := s.Identity.Refresh(c.Request.Context(), req.RefreshToken)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, loginResponse{Tokens: t})
}

func (s *Server) logout(c *gin.Context) {
	if err := s.Identity.Logout(c.Request.Context(), bearerToken(c)); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type meResponse struct {
	Kind   identity.Kind    `json:"kind"`
	ID     int64            `json:"id"`
	Name   string           `json:"name"`
	Grants []identity.Grant `json:"grants"`
	// Capabilities tell the console what to offer (full-phone exports,
	// the staff page); the server still checks every request.
	Capabilities identity.Capabilities `json:"capabilities"`
}

func (s *Server) me(c *gin.Context) {
	p := principal(c)
	grants := p.Grants
	if grants == nil {
		grants = []identity.Grant{}
	}
	c.JSON(http.StatusOK, meResponse{Kind: p.Kind, ID: p.ID, Name: p.Name, Grants: grants, Capabilities: p.Capabilities()})
}

func (s *Server) bindPhone(c *gin.Context) {
	var req loginRequest
	if !bindJSON(c, &req) {
		return
	}
	masked, err := s.Identity.BindPhone(c.Request.Context(), principal(c), req.Code)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"phone_masked": masked})
}

type householdResponse struct {
	roster.Household
	Area string `json:"area"`
}

func householdJSON(h roster.Household) householdResponse {
	return householdResponse{Household: h, Area: h.Area.String()}
}

type myHouseholdResponse struct {
	householdResponse
	Courtyard      string            `json:"courtyard"`
	Role           roster.MemberRole `json:"role"`
	Representative bool              `json:"representative"`
	Members        []roster.Member   `json:"members"`
}

func (s *Server) myHouseholds(c *gin.Context) {
	hs, err := s.Roster.MyHouseholds(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]myHouseholdResponse, len(hs))
	for i, h := range hs {
		out[i] = myHouseholdResponse{householdResponse: householdJSON(h.Household), Courtyard: h.Courtyard, Role: h.Role,
			Representative: h.Representative, Members: h.Members}
	}
	c.JSON(http.StatusOK, gin.H{"households": out})
}

type bindRequest struct {
	InviteCode string `json:"invite_code" binding:"required,max=32"`
}

func (s *Server) bindWithInvite(c *gin.Context) {
	var req bindRequest
	if !bindJSON(c, &req) {
		return
	}
	m, err := s.Roster.BindWithInvite(c.Request.Context(), principal(c), req.InviteCode)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, m)
}

type bindAskRequest struct {
	Role     roster.MemberRole `json:"role" binding:"required"`
	RealName string            `json:"real_name" binding:"required,max=32"`
	Note     string            `json:"note" binding:"max=200"`
}

func (s *Server) requestBind(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req bindAskRequest
	if !bindJSON(c, &req) {
		return
	}
	r, err := s.Roster.RequestBind(c.Request.Context(), principal(c), id, req.Role, req.RealName, req.Note)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, r)
}

type representativeAskRequest struct {
	CandidateUserID int64  `json:"candidate_user_id" binding:"required,gt=0"`
	Note            string `json:"note" binding:"max=200"`
}

func (s *Server) requestRepresentative(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req representativeAskRequest
	if !bindJSON(c, &req) {
		return
	}
	r, err := s.Roster.RequestRepresentative(c.Request.Context(), principal(c), id, req.CandidateUserID, req.Note)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, r)
}

func (s *Server) unbind(c *gin.Context) {
	hid, ok := idParam(c, "id")
	if !ok {
		return
	}
	uid, ok := idParam(c, "user_id")
	if !ok {
		return
	}
	if err := s.Roster.Unbind(c.Request.Context(), principal(c), hid, uid); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// courtyardHouseholds lists a courtyard's households, filtered and paged
// on the server (building_id, unit_id, q, bound; page, page_size), with the
// whole courtyard's head summary. Without page or page_size it lists all
// (the mini-program's council pages).
func (s *Server) courtyardHouseholds(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	f, ok := householdFilter(c)
	if !ok {
		fail(c, errBadFilter)
		return
	}
	hs, sum, err := s.Roster.HouseholdsWithHeads(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	q := readPage(c, 20)
	hs, total := pageOf(hs, q, f.Keep)
	out := make([]householdResponse, len(hs))
	for i, h := range hs {
		out[i] = householdJSON(h)
	}
	sendPage(c, "households", out, total, q, gin.H{"summary": sum})
}

// pendingRequests lists a courtyard's undecided bind and representative
// requests, oldest first, with each household's address and who it is
// about; kind filters, page and page_size page (all without them).
func (s *Server) pendingRequests(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	kind := c.Query("kind")
	if kind != "" && kind != "bind" && kind != "representative" {
		fail(c, errBadFilter)
		return
	}
	q := readPage(c, 20)
	limit := q.size
	if q.all {
		limit = 0
	}
	rs, total, err := s.Roster.PendingRequestViews(c.Request.Context(), principal(c), id, kind, q.offset(), limit)
	if err != nil {
		fail(c, err)
		return
	}
	sendPage(c, "requests", rs, total, q, nil)
}

type decisionRequest struct {
	Approve *bool  `json:"approve" binding:"required"`
	Reason  string `json:"reason" binding:"max=200"`
}

func (s *Server) decide(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req decisionRequest
	if !bindJSON(c, &req) {
		return
	}
	r, err := s.Roster.Decide(c.Request.Context(), principal(c), c.Param("kind"), id, *req.Approve, req.Reason)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// maxRosterRows bounds one roster file; the largest courtyards have a few
// thousand households.
const maxRosterRows = 20000

func (s *Server) importRoster(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	// Check the caller's scope before reading a large upload.
	if _, err := s.Roster.CourtyardForStaff(ctx, principal(c), id); err != nil {
		fail(c, err)
		return
	}
	data, ok := uploadedFile(c, "file")
	if !ok {
		return
	}
	rows, problems, err := spreadsheet.ParseRoster(bytes.NewReader(data), maxRosterRows)
	if err != nil {
		if !louyuan.IsKind(err, louyuan.KindInvalid) {
			err = louyuan.Invalid("roster_unreadable", "无法读取名册文件，请上传 Excel（.xlsx）格式的名册")
		}
		fail(c, err)
		return
	}
	if len(problems) > 0 {
		e := louyuan.Invalid("roster_invalid", "名册有错误，整个文件未导入。请按错误清单修改后重新上传")
		e.Details = problems
		fail(c, e)
		return
	}
	res, err := s.Roster.Import(ctx, principal(c), id, rows)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// uploadedFile reads one multipart file field whole (the body is already
// capped by limitBody).
func uploadedFile(c *gin.Context, field string) ([]byte, bool) {
	fh, err := c.FormFile(field)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			fail(c, errTooLarge)
		} else {
			fail(c, louyuan.Invalid("file_missing", "请选择要上传的文件（表单字段 "+field+"）"))
		}
		return nil, false
	}
	f, err := fh.Open()
	if err != nil {
		fail(c, louyuan.Invalid("file_unreadable", "无法读取上传的文件"))
		return nil, false
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		fail(c, louyuan.Invalid("file_unreadable", "无法读取上传的文件"))
		return nil, false
	}
	return buf.Bytes(), true
}

func (s *Server) rosterTemplate(c *gin.Context) {
	var buf bytes.Buffer
	if err := spreadsheet.RosterTemplate(&buf); err != nil {
		fail(c, louyuan.Internalf(err, "write roster template"))
		return
	}
	sendXLSX(c, "房屋名册模板.xlsx", buf.Bytes())
}

type invitesRequest struct {
	HouseholdIDs []int64 `json:"household_ids" binding:"max=20000"`
	// BuildingID or UnitID, instead of HouseholdIDs: every household of
	// that building or unit (slips for one building's door-to-door round).
	BuildingID int64             `json:"building_id" binding:"min=0"`
	UnitID     int64             `json:"unit_id" binding:"min=0"`
	Role       roster.MemberRole `json:"role"`
}

func (s *Server) issueInvites(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req invitesRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.Role == "" {
		req.Role = roster.RoleOwner
	}
	ctx := c.Request.Context()
	if len(req.HouseholdIDs) == 0 && (req.BuildingID != 0 || req.UnitID != 0) {
		hs, err := s.Roster.Households(ctx, principal(c), id)
		if err != nil {
			fail(c, err)
			return
		}
		f := roster.HouseholdFilter{BuildingID: req.BuildingID, UnitID: req.UnitID}
		for _, h := range hs {
			if f.Keep(h) {
				req.HouseholdIDs = append(req.HouseholdIDs, h.ID)
			}
		}
		if len(req.HouseholdIDs) == 0 {
			fail(c, louyuan.NotFound("household_not_found", "该楼栋或单元还没有房屋，请先导入名册"))
			return
		}
	}
	slips, err := s.Roster.IssueInvites(ctx, principal(c), id, req.HouseholdIDs, req.Role)
	if err != nil {
		fail(c, err)
		return
	}
	if c.Query("format") == "json" {
		c.JSON(http.StatusCreated, gin.H{"invites": slips})
		return
	}
	var buf bytes.Buffer
	courtyard := ""
	if len(slips) > 0 {
		courtyard = slips[0].Courtyard
	}
	if err := spreadsheet.WriteInviteSlips(&buf, courtyard, slips); err != nil {
		fail(c, louyuan.Internalf(err, "write invite slips"))
		return
	}
	sendXLSX(c, courtyard+"邀请码"+time.Now().Format("20060102")+".xlsx", buf.Bytes())
}

// sendXLSX sends a spreadsheet with a Chinese file name (RFC 5987).
func sendXLSX(c *gin.Context, name string, data []byte) {
	c.Header("Content-Disposition", contentDisposition(name))
	c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", data)
}

func contentDisposition(name string) string {
	return `attachment; filename="download.xlsx"; filename*=UTF-8''` + url.PathEscape(name)
}

type settingsRequest struct {
	MaxDelegationsPerProxy int   `json:"max_delegations_per_proxy" binding:"required"`
	ProxyPhotoRequired     *bool `json:"proxy_photo_required" binding:"required"`
}

func (s *Server) setCourtyardSettings(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req settingsRequest
	if !bindJSON(c, &req) {
		return
	}
	st := roster.Settings{MaxDelegationsPerProxy: req.MaxDelegationsPerProxy, ProxyPhotoRequired: *req.ProxyPhotoRequired}
	if err := s.Roster.SetSettings(c.Request.Context(), principal(c), id, st); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

type grantRequest struct {
	PrincipalType identity.Kind      `json:"principal_type" binding:"required,oneof=user staff"`
	PrincipalID   int64              `json:"principal_id" binding:"required,gt=0"`
	Role          identity.Role      `json:"role" binding:"required"`
	ScopeType     identity.ScopeType `json:"scope_type" binding:"required"`
	ScopeID       int64              `json:"scope_id" binding:"required,gt=0"`
}

func (s *Server) grant(c *gin.Context) { s.changeGrant(c, s.Identity.Grant) }

func (s *Server) revokeGrant(c *gin.Context) { s.changeGrant(c, s.Identity.Revoke) }

func (s *Server) changeGrant(c *gin.Context, change func(context.Context, *identity.Principal, identity.Kind, int64, identity.Grant) error) {
	var req grantRequest
	if !bindJSON(c, &req) {
		return
	}
	p := principal(c)
	err := change(c.Request.Context(), &p, req.PrincipalType, req.PrincipalID,
		identity.Grant{Role: req.Role, ScopeType: req.ScopeType, ScopeID: req.ScopeID})
	if err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
