package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/export"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// Records that hold up in a dispute (issue #17): frozen cost tables and
// the reconciliation sheet of a motion's paper trail.

// recordsRoutes registers this file's routes on the authenticated group.
func (s *Server) recordsRoutes(a *gin.RouterGroup, small gin.HandlerFunc) {
	a.GET("/petitions/:id/cost-tables", s.costTables)
	a.POST("/petitions/:id/cost-tables", small, s.petitionSeen, s.publishCostTable)
	a.GET("/motions/:id/paper-trail.xlsx", s.paperTrail)
}

// paperTrail streams a motion's printable reconciliation sheet.
func (s *Server) paperTrail(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	d := &download{c: c, ctype: xlsxType}
	ctx, _, att := exportContexts(c)
	err := s.Voting.PaperTrail(ctx, principal(c), id, s.VotingExport, func(m voting.Motion, rows []voting.TrailRow) error {
		seal := &export.Seal{What: "纸质票与电子票核对表", Subject: fmt.Sprintf("表决 #%d %s", m.ID, m.Title), Scope: scopeText(m.ScopeType, m.ScopeID)}
		defer att.take(seal)
		d.name = fmt.Sprintf("%s核对表-%s.xlsx", m.Title, stamp())
		return export.PaperTrailXLSX(d, m, rows, seal)
	})
	d.finish(err)
}

type costTableRequest struct {
	UnitID int64 `json:"unit_id"`
}

// costTables lists a unit's published cost tables, oldest first.
func (s *Server) costTables(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	unit, err := strconv.ParseInt(c.Query("unit_id"), 10, 64)
	if err != nil || unit <= 0 {
		fail(c, louyuan.Invalid("bad_unit", "请指定单元（unit_id）"))
		return
	}
	vs, err := s.Petitions.CostTables(c.Request.Context(), principal(c), id, unit)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"unit_id": unit, "versions": vs})
}

// publishCostTable freezes a new version of a unit's cost table from the
// current plan and roster.
func (s *Server) publishCostTable(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req costTableRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.UnitID <= 0 {
		fail(c, louyuan.Invalid("bad_unit", "请指定单元（unit_id）"))
		return
	}
	v, err := s.Petitions.PublishCostTable(c.Request.Context(), principal(c), id, req.UnitID)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, v)
}
