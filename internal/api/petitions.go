package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/petition"
)

type petitionRequest struct {
	ScopeType        string        `json:"scope_type" binding:"required,oneof=courtyard building unit"`
	ScopeID          int64         `json:"scope_id" binding:"gte=0"`
	Title            string        `json:"title" binding:"required,max=200"`
	Body             string        `json:"body" binding:"max=20000"`
	Deadline         time.Time     `json:"deadline" binding:"required"`
	TargetHouseholds *fractionJSON `json:"target_households"`
	TargetArea       *fractionJSON `json:"target_area"`
	CostSharing      bool          `json:"cost_sharing"`
}

func (s *Server) createPetition(c *gin.Context) {
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
	pt, err := s.Petitions.Create(c.Request.Context(), principal(c), petition.Draft{CourtyardID: id, ScopeType: req.ScopeType, ScopeID: req.ScopeID,
		Title: req.Title, Body: req.Body, Deadline: req.Deadline, TargetHouseholds: households, TargetArea: area, CostSharing: req.CostSharing})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, pt)
}

func (s *Server) listPetitions(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	pts, err := s.Petitions.List(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	q, keep := readPage(c, 20), titleFilter(c)
	pts, total := pageOf(pts, q, func(p petition.Petition) bool { return keep(string(p.Status), p.Title) })
	sendPage(c, "petitions", pts, total, q, nil)
}

type targetJSON struct {
	Rule       string `json:"rule"`
	Met        bool   `json:"met"`
	Households int64  `json:"needed_households"`
	Area       string `json:"needed_area"`
}

func targetOut(t *petition.Target) *targetJSON {
	if t == nil {
		return nil
	}
	return &targetJSON{Rule: t.Rule, Met: t.Met, Households: t.Households, Area: t.Area.String()}
}

func (s *Server) petitionDetail(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	pt, pr, err := s.Petitions.Get(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"petition": pt, "progress": gin.H{
		"households": pr.Households, "area": pr.Area.String(), "signed_households": pr.SignedHouseholds, "signed_area": pr.SignedArea.String(),
		"target_households": targetOut(pr.TargetHouseholds), "target_area": targetOut(pr.TargetArea), "reached": pr.Reached}})
}

func (s *Server) publishPetition(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	pt, err := s.Petitions.Publish(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pt)
}

func (s *Server) closePetition(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	pt, err := s.Petitions.Close(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pt)
}

type costPlanRequest struct {
	UnitID       int64            `json:"unit_id" binding:"required,gt=0"`
	TotalFen     int64            `json:"total_fen" binding:"required,gt=0"`
	Coefficients map[string]int64 `json:"coefficients" binding:"required,min=1,max=60"`
}

func (s *Server) setCostPlan(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req costPlanRequest
	if !bindJSON(c, &req) {
		return
	}
	plan := petition.CostPlan{UnitID: req.UnitID, TotalFen: req.TotalFen, Coefficients: map[int]int64{}}
	for floor, coef := range req.Coefficients {
		f, err := strconv.Atoi(floor)
		if err != nil || strconv.Itoa(f) != floor {
			fail(c, louyuan.Invalid("bad_coefficient", "系数表的键应为楼层数字，如 \"3\""))
			return
		}
		plan.Coefficients[f] = coef
	}
	shares, err := s.Petitions.SetCostPlan(c.Request.Context(), principal(c), id, plan)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"unit_id": plan.UnitID, "shares": shares})
}

type signRequest struct {
	HouseholdID   int64  `json:"household_id" binding:"required,gt=0"`
	RealName      string `json:"real_name" binding:"required,max=32"`
	SignatureFile string `json:"signature_file" binding:"max=128"`
	PledgeFen     *int64 `json:"pledge_fen" binding:"omitempty,gte=0"`
}

func (s *Server) signPetition(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req signRequest
	if !bindJSON(c, &req) {
		return
	}
	sg, err := s.Petitions.Sign(c.Request.Context(), principal(c), id, petition.SignRequest{HouseholdID: req.HouseholdID, RealName: req.RealName,
		SignatureFile: req.SignatureFile, PledgeFen: req.PledgeFen})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, sg)
}

type paperSignRequest struct {
	signRequest
	Photo string `json:"photo" binding:"required,max=128"`
}

func (s *Server) paperSignature(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req paperSignRequest
	if !bindJSON(c, &req) {
		return
	}
	sg, err := s.Petitions.EnterPaper(c.Request.Context(), principal(c), id, petition.SignRequest{HouseholdID: req.HouseholdID, RealName: req.RealName,
		PledgeFen: req.PledgeFen}, req.Photo)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, sg)
}

func (s *Server) withdrawSignature(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	hid, ok := idParam(c, "household_id")
	if !ok {
		return
	}
	if err := s.Petitions.Withdraw(c.Request.Context(), principal(c), id, hid); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type paymentRequest struct {
	HouseholdID int64  `json:"household_id" binding:"required,gt=0"`
	AmountFen   int64  `json:"amount_fen" binding:"required,gt=0"`
	ReceiptNo   string `json:"receipt_no" binding:"required,max=64"`
	ReceiptFile string `json:"receipt_file" binding:"max=128"`
	PaidOn      string `json:"paid_on" binding:"required,len=10"`
}

func (s *Server) recordPayment(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req paymentRequest
	if !bindJSON(c, &req) {
		return
	}
	pay, err := s.Petitions.RecordPayment(c.Request.Context(), principal(c), id, petition.Payment{HouseholdID: req.HouseholdID, AmountFen: req.AmountFen,
		ReceiptNo: req.ReceiptNo, ReceiptFile: req.ReceiptFile, PaidOn: req.PaidOn})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, pay)
}

func (s *Server) petitionTotals(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	units, all, err := s.Petitions.Totals(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	if units == nil {
		units = []petition.UnitTotals{}
	}
	c.JSON(http.StatusOK, gin.H{"units": units, "total": all})
}

func (s *Server) myPetitions(c *gin.Context) {
	ps, err := s.Petitions.Mine(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"petitions": ps})
}
