package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/roster"
)

// placeRoutes are the places tree of the staff console: what the caller
// may see and do, and creating and renaming communities, courtyards,
// buildings and units.
func (s *Server) placeRoutes(a *gin.RouterGroup, small gin.HandlerFunc) {
	a.GET("/me/places", s.myPlaces)
	a.POST("/subdistricts/:id/communities", small, anyRole, s.createPlace(roster.LevelCommunity))
	a.PUT("/communities/:id", small, anyRole, s.renamePlace(roster.LevelCommunity))
	a.POST("/communities/:id/courtyards", small, anyRole, s.createPlace(roster.LevelCourtyard))
	a.PUT("/courtyards/:id", small, anyRole, s.renamePlace(roster.LevelCourtyard))
	a.GET("/courtyards/:id/buildings", s.courtyardBuildings)
	a.POST("/courtyards/:id/buildings", small, anyRole, s.createPlace(roster.LevelBuilding))
	a.PUT("/buildings/:id", small, anyRole, s.renamePlace(roster.LevelBuilding))
	a.POST("/buildings/:id/units", small, anyRole, s.createPlace(roster.LevelUnit))
	a.PUT("/units/:id", small, anyRole, s.renamePlace(roster.LevelUnit))
	a.GET("/households/:id/members", s.householdMembers)
}

// ---- paging: one shape for every paged list ----

// maxPageSize bounds page_size on every paged list.
const maxPageSize = 100

// pageQuery is a list's page as the query asked for it: page (from 1) and
// page_size (1..maxPageSize, default def). all is set when the caller
// named neither (older callers, e.g. the mini-program, that want the
// whole list); lists that always page ignore it.
type pageQuery struct {
	page, size int
	all        bool
}

func readPage(c *gin.Context, def int) pageQuery {
	_, hasPage := c.GetQuery("page")
	_, hasSize := c.GetQuery("page_size")
	return pageQuery{page: queryInt(c, "page", 1, 1, 1_000_000), size: queryInt(c, "page_size", def, 1, maxPageSize), all: !hasPage && !hasSize}
}

func (q pageQuery) offset() int { return (q.page - 1) * q.size }

// pageOf keeps the items that pass keep (nil keeps all) and cuts the page
// out of them; it returns the page and the number that passed.
func pageOf[T any](items []T, q pageQuery, keep func(T) bool) ([]T, int) {
	kept := make([]T, 0, len(items))
	for _, it := range items {
		if keep == nil || keep(it) {
			kept = append(kept, it)
		}
	}
	if q.all {
		return kept, len(kept)
	}
	from := min(q.offset(), len(kept))
	return kept[from:min(from+q.size, len(kept))], len(kept)
}

// sendPage answers a paged list: the items under their name, the total
// that passed the filters, the page and its size (the audit log's shape),
// and any extra fields.
func sendPage(c *gin.Context, name string, items any, total int, q pageQuery, extra gin.H) {
	out := gin.H{name: items, "total": total, "page": q.page, "page_size": q.size}
	if q.all {
		out["page"], out["page_size"] = 1, max(total, 1)
	}
	for k, v := range extra {
		out[k] = v
	}
	c.JSON(http.StatusOK, out)
}

// titleFilter keeps items whose status is status (when given) and whose
// title holds q (when given): the filters of the motion, petition and
// notice lists.
func titleFilter(c *gin.Context) func(status, title string) bool {
	status, q := c.Query("status"), strings.TrimSpace(c.Query("q"))
	return func(st, title string) bool {
		return (status == "" || st == status) && (q == "" || strings.Contains(title, q))
	}
}

var errBadFilter = louyuan.Invalid("bad_filter", "筛选条件不正确，请重新选择")

// ---- places ----

func (s *Server) myPlaces(c *gin.Context) {
	tree, err := s.Roster.PlaceTree(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"subdistricts": tree})
}

// placeRequest is a place's name and (courtyards) address. The service
// checks both after the caller's scope, so they carry no binding rules: an
// out-of-scope caller gets 403/404, never 400 for the body.
type placeRequest struct {
	Name    string  `json:"name"`
	Address *string `json:"address"`
}

type placeJSON struct {
	Level   roster.Level `json:"level"`
	ID      int64        `json:"id"`
	Name    string       `json:"name"`
	Address string       `json:"address,omitempty"`
	// ParentID is the community's subdistrict, the courtyard's community,
	// the building's courtyard or the unit's building.
	ParentID int64 `json:"parent_id"`
}

func placeOut(n roster.Node) placeJSON {
	return placeJSON{Level: n.Level, ID: n.ID, Name: n.Name, Address: n.Address, ParentID: n.ParentID}
}

// placeBody reads the place named by :id and the request body of a create
// or rename (it has answered when ok is false).
func placeBody(c *gin.Context) (id int64, req placeRequest, ok bool) {
	if id, ok = idParam(c, "id"); ok {
		ok = bindJSON(c, &req)
	}
	return id, req, ok
}

// createPlace makes a place of level inside the place named by :id.
func (s *Server) createPlace(level roster.Level) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, req, ok := placeBody(c)
		if !ok {
			return
		}
		addr := ""
		if req.Address != nil {
			addr = *req.Address
		}
		n, err := s.Roster.CreatePlace(c.Request.Context(), principal(c), level, id, req.Name, addr)
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, placeOut(n))
	}
}

// renamePlace renames the place of level :id.
func (s *Server) renamePlace(level roster.Level) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, req, ok := placeBody(c)
		if !ok {
			return
		}
		n, err := s.Roster.RenamePlace(c.Request.Context(), principal(c), level, id, req.Name, req.Address)
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, placeOut(n))
	}
}

func (s *Server) courtyardBuildings(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	bs, canChange, err := s.Roster.Buildings(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	if bs == nil {
		bs = []roster.Building{}
	}
	c.JSON(http.StatusOK, gin.H{"buildings": bs, "can_add": canChange, "can_rename": canChange})
}

type memberJSON struct {
	UserID         int64             `json:"user_id"`
	Role           roster.MemberRole `json:"role"`
	Representative bool              `json:"representative"`
	RealName       string            `json:"real_name"`
	PhoneMasked    string            `json:"phone_masked"`
	Via            string            `json:"via"`
	CreatedAt      string            `json:"created_at"`
}

func (s *Server) householdMembers(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	h, ms, err := s.Roster.HouseholdMembers(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]memberJSON, len(ms))
	for i, m := range ms {
		out[i] = memberJSON{UserID: m.UserID, Role: m.Role, Representative: m.Representative, RealName: m.RealName,
			PhoneMasked: m.PhoneMasked, Via: m.Via, CreatedAt: m.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")}
	}
	c.JSON(http.StatusOK, gin.H{"household": householdJSON(h), "members": out})
}

// householdFilter reads the household list's filters: building_id,
// unit_id, q (room, address or owner) and bound (yes, no).
func householdFilter(c *gin.Context) (roster.HouseholdFilter, bool) {
	f := roster.HouseholdFilter{Text: c.Query("q"), Bound: c.Query("bound")}
	for _, x := range []struct {
		name string
		to   *int64
	}{{"building_id", &f.BuildingID}, {"unit_id", &f.UnitID}} {
		if v := c.Query(x.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return f, false
			}
			*x.to = n
		}
	}
	if f.Bound != "" && f.Bound != "yes" && f.Bound != "no" {
		return f, false
	}
	return f, true
}
