package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/opinion"
)

// surveyRoutes registers satisfaction surveys (大家评).
func (s *Server) surveyRoutes(a *gin.RouterGroup, small gin.HandlerFunc) {
	a.POST("/councils/:id/surveys", small, anyRole, s.openSurvey)
	a.GET("/councils/:id/surveys", s.listSurveys)
	a.GET("/surveys/:id", s.surveyDetail)
	a.POST("/surveys/:id/responses", small, s.surveySeen, s.respondSurvey)
	a.POST("/surveys/:id/close", s.closeSurvey)
	a.GET("/surveys/:id/results", s.surveyResults)
	a.GET("/communities/:id/survey-comparison", s.compareSurveys)
}

type surveyRequest struct {
	Title     string             `json:"title" binding:"required,max=200"`
	Questions []opinion.Question `json:"questions" binding:"required,min=1,max=30"`
	ClosesAt  time.Time          `json:"closes_at" binding:"required"`
}

func (s *Server) openSurvey(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req surveyRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Opinions.OpenSurvey(c.Request.Context(), principal(c), id, opinion.SurveyDraft{Title: req.Title, Questions: req.Questions, ClosesAt: req.ClosesAt})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

func (s *Server) listSurveys(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Opinions.Surveys(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"surveys": out})
}

func (s *Server) surveyDetail(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Opinions.GetSurvey(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

type responseRequest struct {
	HouseholdID int64            `json:"household_id" binding:"required,gt=0"`
	Answers     []opinion.Answer `json:"answers" binding:"required,max=30"`
}

func (s *Server) respondSurvey(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req responseRequest
	if !bindJSON(c, &req) {
		return
	}
	out, err := s.Opinions.Respond(c.Request.Context(), principal(c), id, req.HouseholdID, req.Answers)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

func (s *Server) closeSurvey(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Opinions.CloseSurvey(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) surveyResults(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Opinions.Results(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) compareSurveys(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	out, err := s.Opinions.Compare(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"councils": out})
}
