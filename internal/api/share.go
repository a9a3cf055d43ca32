package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/share"
)

// shareRequest is what wx.getShareInfo answered for the card the
// mini-program was opened from. Empty fields are the service's to refuse
// (share_data_required), with a message a person can act on.
type shareRequest struct {
	EncryptedData string `json:"encrypted_data" binding:"max=4096"`
	IV            string `json:"iv" binding:"max=64"`
}

// groupView is a courtyard's WeChat group link; the openGId stays on the
// server.
type groupView struct {
	CourtyardID int64      `json:"courtyard_id"`
	Linked      bool       `json:"linked"`
	LinkedBy    string     `json:"linked_by,omitempty"`
	LinkedAt    *time.Time `json:"linked_at,omitempty"`
	Changed     *bool      `json:"changed,omitempty"`
}

func viewGroup(courtyardID int64, g share.Group, linked bool) groupView {
	v := groupView{CourtyardID: courtyardID, Linked: linked}
	if linked {
		at := g.LinkedAt
		v.LinkedBy, v.LinkedAt = g.LinkedBy, &at
	}
	return v
}

// shareKey is the WeChat session key of the caller's login, for one
// decryption; it is never logged or answered.
func (s *Server) shareKey(c *gin.Context) (string, bool) {
	key, err := s.Identity.WeChatSessionKey(c.Request.Context(), bearerToken(c))
	if err != nil {
		fail(c, err)
		return "", false
	}
	return key, true
}

func (s *Server) linkWeChatGroup(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req shareRequest
	if !bindJSON(c, &req) {
		return
	}
	key, ok := s.shareKey(c)
	if !ok {
		return
	}
	g, changed, err := s.Shares.Link(c.Request.Context(), principal(c), id, key, share.Data{EncryptedData: req.EncryptedData, IV: req.IV})
	if err != nil {
		fail(c, err)
		return
	}
	v := viewGroup(id, g, true)
	v.Changed = &changed
	c.JSON(http.StatusOK, v)
}

func (s *Server) weChatGroup(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	g, linked, err := s.Shares.GroupOf(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewGroup(id, g, linked))
}

func (s *Server) openFromGroup(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req shareRequest
	if !bindJSON(c, &req) {
		return
	}
	key, ok := s.shareKey(c)
	if !ok {
		return
	}
	counted, err := s.Shares.Open(c.Request.Context(), principal(c), id, key, share.Data{EncryptedData: req.EncryptedData, IV: req.IV})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"counted": counted})
}
