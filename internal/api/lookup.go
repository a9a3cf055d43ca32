package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/roster"
)

// lookupRoutes registers what a resident without an invite code needs:
// finding their household by its address (then POST
// /households/{id}/bind-requests) and following their requests.
func (s *Server) lookupRoutes(a *gin.RouterGroup) {
	a.GET("/household-lookup", s.householdLookup)
	a.GET("/me/bind-requests", s.myBindRequests)
}

func (s *Server) householdLookup(c *gin.Context) {
	out, err := s.Roster.FindHousehold(c.Request.Context(), principal(c), roster.AddressQuery{Courtyard: c.Query("courtyard"),
		Building: c.Query("building"), Unit: c.Query("unit"), Room: c.Query("room")})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"households": out})
}

func (s *Server) myBindRequests(c *gin.Context) {
	out, err := s.Roster.MyBindRequests(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"requests": out})
}
