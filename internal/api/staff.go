package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/identity"
)

// staffRoutes are the staff console's account routes: changing one's
// password, the staff of one's scope and new accounts.
func (s *Server) staffRoutes(a *gin.RouterGroup, small gin.HandlerFunc) {
	a.POST("/me/password", small, only(identity.KindStaff, identity.ErrStaffOnly), s.changePassword)
	a.GET("/staff", s.listStaff)
	a.POST("/staff", small, anyRole, s.createStaff)
}

type passwordRequest struct {
	OldPassword string `json:"old_password" binding:"required,max=200"`
	NewPassword string `json:"new_password" binding:"required,max=200"`
}

// changePassword changes the caller's password; every other session of
// the account ends, and the answer is a fresh token pair for this one.
func (s *Server) changePassword(c *gin.Context) {
	var req passwordRequest
	if !bindJSON(c, &req) {
		return
	}
	t, err := s.Identity.ChangePassword(c.Request.Context(), principal(c), bearerToken(c), req.OldPassword, req.NewPassword)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, loginResponse{Tokens: t})
}

type grantOptionJSON struct {
	identity.Grant
	RoleName  string `json:"role_name"`
	ScopeName string `json:"scope_name"`
}

type staffGrantJSON struct {
	grantOptionJSON
	GrantedBy string    `json:"granted_by"`
	GrantedAt time.Time `json:"granted_at"`
	Revocable bool      `json:"revocable"`
}

type staffJSON struct {
	ID          int64            `json:"id"`
	Username    string           `json:"username"`
	DisplayName string           `json:"display_name"`
	Disabled    bool             `json:"disabled"`
	Locked      bool             `json:"locked"`
	CreatedAt   time.Time        `json:"created_at"`
	LastLoginAt *time.Time       `json:"last_login_at"`
	Self        bool             `json:"self"`
	Grants      []staffGrantJSON `json:"grants"`
	// CanGrant are the roles over scopes the caller may grant this
	// account (the server's rule; the console only shows them).
	CanGrant []grantOptionJSON `json:"can_grant"`
}

func grantOptionOf(o identity.GrantOption) grantOptionJSON {
	return grantOptionJSON{Grant: o.Grant, RoleName: identity.RoleLabel(o.Role), ScopeName: o.ScopeName}
}

func staffViewJSON(v identity.StaffView, now time.Time) staffJSON {
	out := staffJSON{ID: v.Staff.ID, Username: v.Staff.Username, DisplayName: v.Staff.DisplayName, Disabled: v.Staff.Disabled,
		Locked: now.Before(v.Staff.LockedUntil), CreatedAt: v.Staff.CreatedAt, Self: v.Self,
		Grants: make([]staffGrantJSON, len(v.Grants)), CanGrant: make([]grantOptionJSON, len(v.CanGrant))}
	if !v.Staff.LastLoginAt.IsZero() {
		t := v.Staff.LastLoginAt
		out.LastLoginAt = &t
	}
	for i, g := range v.Grants {
		out.Grants[i] = staffGrantJSON{grantOptionJSON: grantOptionOf(identity.GrantOption{Grant: g.Grant, ScopeName: g.ScopeName}),
			GrantedBy: g.GrantedBy, GrantedAt: g.GrantedAt, Revocable: g.Revocable}
	}
	for i, o := range v.CanGrant {
		out.CanGrant[i] = grantOptionOf(o)
	}
	return out
}

// listStaff pages through the staff accounts within the caller's scope,
// filtered by ?q= (username or name).
func (s *Server) listStaff(c *gin.Context) {
	page, size := queryInt(c, "page", 1, 1, 1_000_000), queryInt(c, "page_size", 20, 1, 100)
	l, err := s.Identity.ListStaff(c.Request.Context(), principal(c), c.Query("q"), page, size)
	if err != nil {
		fail(c, err)
		return
	}
	now := time.Now()
	out := struct {
		Staff     []staffJSON       `json:"staff"`
		Total     int64             `json:"total"`
		Page      int               `json:"page"`
		PageSize  int               `json:"page_size"`
		CanCreate []grantOptionJSON `json:"can_create"`
	}{Staff: make([]staffJSON, len(l.Entries)), Total: l.Total, Page: page, PageSize: size, CanCreate: make([]grantOptionJSON, len(l.CanCreate))}
	for i, v := range l.Entries {
		out.Staff[i] = staffViewJSON(v, now)
	}
	for i, o := range l.CanCreate {
		out.CanCreate[i] = grantOptionOf(o)
	}
	c.JSON(http.StatusOK, out)
}

type createStaffRequest struct {
	Username    string             `json:"username" binding:"required,max=64"`
	DisplayName string             `json:"display_name" binding:"required,max=64"`
	Role        identity.Role      `json:"role" binding:"required"`
	ScopeType   identity.ScopeType `json:"scope_type" binding:"required"`
	ScopeID     int64              `json:"scope_id" binding:"required,gt=0"`
}

// createStaff makes a staff account with its first role; the answer
// carries the initial password, shown this once.
func (s *Server) createStaff(c *gin.Context) {
	var req createStaffRequest
	if !bindJSON(c, &req) {
		return
	}
	st, password, err := s.Identity.CreateStaffIn(c.Request.Context(), principal(c), req.Username, req.DisplayName,
		identity.Grant{Role: req.Role, ScopeType: req.ScopeType, ScopeID: req.ScopeID})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": st.ID, "username": st.Username, "display_name": st.DisplayName, "initial_password": password})
}
