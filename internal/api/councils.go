package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/council"
)

type councilRequest struct {
	Name         string  `json:"name" binding:"required,max=64"`
	CourtyardIDs []int64 `json:"courtyard_ids" binding:"required,min=1,max=20,dive,gt=0"`
	TermStartsOn string  `json:"term_starts_on" binding:"required"`
	TermEndsOn   string  `json:"term_ends_on" binding:"required"`
}

func (s *Server) createCouncil(c *gin.Context) {
	var req councilRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Councils.CreateCouncil(c.Request.Context(), principal(c), req.Name, req.CourtyardIDs, req.TermStartsOn, req.TermEndsOn)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

func (s *Server) councilDetail(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Councils.Council(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) courtyardCouncils(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Councils.CourtyardCouncils(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"councils": out})
}

type staffAssignRequest struct {
	StaffID int64  `json:"staff_id" binding:"required,gt=0"`
	Role    string `json:"role" binding:"required"`
}

func (s *Server) assignCouncilStaff(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req staffAssignRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Councils.AssignStaff(c.Request.Context(), principal(c), id, req.StaffID, req.Role)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) removeCouncilStaff(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	staffID, ok := idParam(c, "staff_id")
	if !ok {
		return
	}
	out, err := s.Councils.RemoveStaff(c.Request.Context(), principal(c), id, staffID)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) eligibilityCriteria(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Councils.Criteria(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"criteria": out})
}

type switchRequest struct {
	Enabled *bool `json:"enabled" binding:"required"`
}

func (s *Server) switchCriterion(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req switchRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Councils.SwitchCriterion(c.Request.Context(), principal(c), id, c.Param("code"), *req.Enabled)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"criteria": out})
}

type electionRequest struct {
	CourtyardID  int64  `json:"courtyard_id" binding:"required,gt=0"`
	ScopeType    string `json:"scope_type" binding:"required"`
	ScopeID      int64  `json:"scope_id" binding:"gte=0"`
	Title        string `json:"title" binding:"required,max=200"`
	Seats        int    `json:"seats" binding:"required"`
	TermStartsOn string `json:"term_starts_on" binding:"required"`
	TermEndsOn   string `json:"term_ends_on" binding:"required"`
}

func (s *Server) createElection(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req electionRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Councils.CreateElection(c.Request.Context(), principal(c), id, council.ElectionDraft{CourtyardID: req.CourtyardID, ScopeType: req.ScopeType,
		ScopeID: req.ScopeID, Title: req.Title, Seats: req.Seats, TermStartsOn: req.TermStartsOn, TermEndsOn: req.TermEndsOn})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

func (s *Server) listElections(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Councils.Elections(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"elections": out})
}

func (s *Server) electionDetail(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Councils.Election(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

type nominationRequest struct {
	UserID     int64   `json:"user_id" binding:"required,gt=0"`
	Source     string  `json:"source" binding:"required"`
	Statement  string  `json:"statement" binding:"max=4000"`
	Name       string  `json:"name" binding:"max=64"`
	Nominators []int64 `json:"nominators" binding:"max=100"`
}

func (s *Server) nominate(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req nominationRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Councils.Nominate(c.Request.Context(), principal(c), id, council.Nomination{UserID: req.UserID, Source: req.Source,
		Statement: req.Statement, Name: req.Name, Nominators: req.Nominators})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

func (s *Server) publishCandidates(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Councils.PublishCandidates(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

type electionBallotRequest struct {
	CandidateIDs  []int64   `json:"candidate_ids" binding:"max=50"`
	BallotMode    string    `json:"ballot_mode" binding:"required"`
	NoticeDays    int       `json:"notice_days"`
	ObjectionDays int       `json:"objection_days"`
	OpensAt       time.Time `json:"opens_at" binding:"required"`
	ClosesAt      time.Time `json:"closes_at" binding:"required"`
}

func (s *Server) drawBallot(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req electionBallotRequest
	if !bindJSON(c, &req) {
		return
	}
	e, m, err := s.Councils.DrawBallot(c.Request.Context(), principal(c), id, council.BallotDraft{CandidateIDs: req.CandidateIDs, Mode: req.BallotMode,
		NoticeDays: req.NoticeDays, ObjectionDays: req.ObjectionDays, OpensAt: req.OpensAt, ClosesAt: req.ClosesAt})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"election": e, "motion": motionOut(m)})
}

type electionConfirmRequest struct {
	ChairCandidateID     int64 `json:"chair_candidate_id" binding:"gte=0"`
	TreasurerCandidateID int64 `json:"treasurer_candidate_id" binding:"gte=0"`
}

func (s *Server) confirmElection(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req electionConfirmRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Councils.Confirm(c.Request.Context(), principal(c), id, council.ConfirmSeats{ChairCandidateID: req.ChairCandidateID,
		TreasurerCandidateID: req.TreasurerCandidateID})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) candidateChecklist(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Councils.Checklist(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

type findingRequest struct {
	Pass         *bool  `json:"pass" binding:"required"`
	Note         string `json:"note" binding:"max=4000"`
	EvidenceFile string `json:"evidence_file" binding:"max=128"`
}

func (s *Server) recordFinding(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req findingRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Councils.RecordFinding(c.Request.Context(), principal(c), id, c.Param("criterion"), *req.Pass, req.Note, req.EvidenceFile)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

type appealRequest struct {
	Reason string `json:"reason" binding:"required,max=4000"`
}

func (s *Server) fileAppeal(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req appealRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Councils.FileAppeal(c.Request.Context(), principal(c), id, req.Reason)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

type appealDecisionRequest struct {
	Upheld *bool  `json:"upheld" binding:"required"`
	Note   string `json:"note" binding:"required,max=4000"`
}

func (s *Server) decideAppeal(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req appealDecisionRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Councils.DecideAppeal(c.Request.Context(), principal(c), id, *req.Upheld, req.Note)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// councilRoutes registers councils, elections and vetting.
func (s *Server) councilRoutes(a *gin.RouterGroup, small gin.HandlerFunc) {
	a.POST("/councils", small, anyRole, s.createCouncil)
	a.GET("/councils/:id", s.councilDetail)
	a.GET("/courtyards/:id/councils", s.courtyardCouncils)
	a.POST("/councils/:id/staff", small, anyRole, s.assignCouncilStaff)
	a.DELETE("/councils/:id/staff/:staff_id", s.removeCouncilStaff)
	a.GET("/communities/:id/eligibility-criteria", s.eligibilityCriteria)
	a.PUT("/communities/:id/eligibility-criteria/:code", small, anyRole, s.switchCriterion)
	a.POST("/councils/:id/elections", small, anyRole, s.createElection)
	a.GET("/councils/:id/elections", s.listElections)
	a.GET("/elections/:id", s.electionDetail)
	a.POST("/elections/:id/candidates", small, s.nominate)
	a.POST("/elections/:id/publish-candidates", s.publishCandidates)
	a.POST("/elections/:id/ballot", small, anyRole, s.drawBallot)
	a.POST("/elections/:id/confirm", small, anyRole, s.confirmElection)
	a.GET("/candidates/:id/checklist", s.candidateChecklist)
	a.PUT("/candidates/:id/findings/:criterion", small, s.candidateSeen, s.recordFinding)
	a.POST("/candidates/:id/appeal", small, s.candidateSeen, s.fileAppeal)
	a.POST("/candidates/:id/appeal/decision", small, s.candidateSeen, s.decideAppeal)
	a.GET("/councils/:id/activity", s.councilActivity)
	a.GET("/elections/:id/unit", s.electionUnit)
}

// electionUnit lists the households of an election's unit with their
// owners and bound members (staff).
func (s *Server) electionUnit(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Councils.Unit(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"households": out})
}

// councilSurvey is one survey's results in a council's activity (averages,
// no free texts).
type councilSurvey struct {
	ID        int64    `json:"id"`
	Title     string   `json:"title"`
	TermID    int64    `json:"term_id"`
	Status    string   `json:"status"`
	Responses int      `json:"responses"`
	Average   *float64 `json:"average,omitempty"`
}

// councilActivity counts what a council's courtyards saw: notices,
// motions, petitions, opinions, and every survey's results by term.
func (s *Server) councilActivity(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	ctx, p := c.Request.Context(), principal(c)
	a, err := s.Councils.Activity(ctx, p, id)
	if err != nil {
		fail(c, err)
		return
	}
	results, err := s.Opinions.CouncilResults(ctx, p, id)
	if err != nil {
		fail(c, err)
		return
	}
	out := []councilSurvey{}
	for _, r := range results {
		v := r.Survey
		out = append(out, councilSurvey{ID: v.ID, Title: v.Title, TermID: v.TermID, Status: v.Status, Responses: r.Responses, Average: r.Average})
	}
	c.JSON(http.StatusOK, gin.H{"activity": a, "surveys": out})
}
