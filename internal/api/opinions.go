package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/opinion"
	"github.com/louyuan/louyuan/internal/petition"
	"github.com/louyuan/louyuan/internal/voting"
)

// opinionRoutes registers opinions (大家议).
func (s *Server) opinionRoutes(a *gin.RouterGroup, small gin.HandlerFunc) {
	a.POST("/courtyards/:id/opinions", small, s.raiseOpinion)
	a.GET("/courtyards/:id/opinions", s.listOpinions)
	a.GET("/me/opinions", s.myOpinions)
	a.GET("/opinions/:id", s.opinionDetail)
	a.GET("/opinions/:id/photos/:key", s.opinionPhoto)
	a.POST("/opinions/:id/assign", small, s.opinionSeen, s.assignOpinion)
	a.POST("/opinions/:id/replies", small, s.opinionSeen, s.answerOpinion)
	a.POST("/opinions/:id/rating", small, s.opinionSeen, s.rateOpinion)
	a.POST("/opinions/:id/reopen", small, s.opinionSeen, s.reopenOpinion)
	a.POST("/opinions/:id/motion-draft", small, s.opinionSeen, s.opinionToMotion)
	a.POST("/opinions/:id/petition-draft", small, s.opinionSeen, s.opinionToPetition)
}

type opinionRequest struct {
	BuildingID int64    `json:"building_id" binding:"gte=0"`
	Category   string   `json:"category" binding:"required,max=16"`
	Body       string   `json:"body" binding:"required,max=8000"`
	Photos     []string `json:"photos" binding:"max=9,dive,max=128"`
	Public     bool     `json:"public"`
}

func (s *Server) raiseOpinion(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req opinionRequest
	if !bindJSON(c, &req) {
		return
	}
	o, err := s.Opinions.Raise(c.Request.Context(), principal(c), id, opinion.Draft{BuildingID: req.BuildingID, Category: req.Category, Body: req.Body,
		Photos: req.Photos, Public: req.Public})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, o)
}

func (s *Server) listOpinions(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Opinions.List(c.Request.Context(), principal(c), id, c.Query("status"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"opinions": out})
}

func (s *Server) myOpinions(c *gin.Context) {
	out, err := s.Opinions.Mine(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"opinions": out})
}

func (s *Server) opinionDetail(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Opinions.Get(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) opinionPhoto(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	key := c.Param("key")
	if !files.ValidKey(key) {
		fail(c, louyuan.NotFound("file_not_found", "文件不存在"))
		return
	}
	if err := s.Opinions.Photo(c.Request.Context(), principal(c), id, key); err != nil {
		fail(c, err)
		return
	}
	m, data, err := s.Files.Attached(c.Request.Context(), key)
	if err != nil {
		fail(c, err)
		return
	}
	serveFile(c, m.ContentType, data)
}

type assignRequest struct {
	AssigneeID int64 `json:"assignee_id" binding:"required,gt=0"`
}

func (s *Server) assignOpinion(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req assignRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Opinions.Assign(c.Request.Context(), principal(c), id, req.AssigneeID)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

type answerRequest struct {
	Body   string `json:"body" binding:"required,max=8000"`
	Status string `json:"status" binding:"omitempty,oneof=received in_progress resolved"`
}

func (s *Server) answerOpinion(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req answerRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Opinions.Answer(c.Request.Context(), principal(c), id, req.Body, opinion.Status(req.Status))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

type ratingRequest struct {
	Rating int `json:"rating" binding:"required"`
}

func (s *Server) rateOpinion(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req ratingRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Opinions.Rate(c.Request.Context(), principal(c), id, req.Rating)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

type reopenRequest struct {
	Reason string `json:"reason" binding:"required,max=4000"`
}

func (s *Server) reopenOpinion(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req reopenRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Opinions.Reopen(c.Request.Context(), principal(c), id, req.Reason)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// opinionToMotion takes the body of POST /courtyards/{id}/motions (the
// courtyard is the opinion's; an empty body text is the opinion's).
func (s *Server) opinionToMotion(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req motionRequest
	if !bindJSON(c, &req) {
		return
	}
	d := voting.Draft{ScopeType: req.ScopeType, ScopeID: req.ScopeID, Title: req.Title, Body: req.Body, Subject: req.Subject,
		Rule: req.Rule, Seats: req.Seats, Candidates: req.Candidates, Mode: req.BallotMode, NoticeDays: req.NoticeDays,
		ObjectionDays: req.ObjectionDays, OpensAt: req.OpensAt, ClosesAt: req.ClosesAt}
	if req.Custom != nil {
		rule, err := req.Custom.rule()
		if err != nil {
			fail(c, err)
			return
		}
		d.Custom = rule
	}
	o, m, err := s.Opinions.ToMotion(c.Request.Context(), principal(c), id, d)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"opinion": o, "motion": motionOut(m)})
}

// opinionToPetition takes the body of POST /courtyards/{id}/petitions.
func (s *Server) opinionToPetition(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req petitionRequest
	if !bindJSON(c, &req) {
		return
	}
	households, err := req.TargetHouseholds.threshold("target_households")
	if err != nil {
		fail(c, err)
		return
	}
	area, err := req.TargetArea.threshold("target_area")
	if err != nil {
		fail(c, err)
		return
	}
	o, pt, err := s.Opinions.ToPetition(c.Request.Context(), principal(c), id, petition.Draft{ScopeType: req.ScopeType, ScopeID: req.ScopeID,
		Title: req.Title, Body: req.Body, Deadline: req.Deadline, TargetHouseholds: households, TargetArea: area, CostSharing: req.CostSharing})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"opinion": o, "petition": pt})
}
