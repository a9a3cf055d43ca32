package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/notice"
)

type noticeRequest struct {
	Targets []notice.Target `json:"targets" binding:"required,min=1,max=50,dive"`
	Title   string          `json:"title" binding:"required,max=200"`
	Body    string          `json:"body" binding:"required,max=20000"`
	Images  []string        `json:"images" binding:"max=9,dive,max=128"`
}

func (s *Server) createNotice(c *gin.Context) {
	var req noticeRequest
	if !bindJSON(c, &req) {
		return
	}
	n, err := s.Notices.Create(c.Request.Context(), principal(c), notice.Draft{Targets: req.Targets, Title: req.Title, Body: req.Body, Images: req.Images})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, n)
}

type previewRequest struct {
	Targets []notice.Target `json:"targets" binding:"required,min=1,max=50,dive"`
}

func (s *Server) previewNotice(c *gin.Context) {
	var req previewRequest
	if !bindJSON(c, &req) {
		return
	}
	n, err := s.Notices.Preview(c.Request.Context(), principal(c), req.Targets)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"recipients": n})
}

func (s *Server) listNotices(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	// Paged and filtered in the database: a courtyard's notices grow for
	// years. Unpaged (the mini-program), the 200 newest.
	q := readPage(c, 20)
	f := notice.ListFilter{Status: c.Query("status"), Title: strings.TrimSpace(c.Query("q"))}
	if !q.all {
		f.Offset, f.Limit = q.offset(), q.size
	}
	ns, total, err := s.Notices.List(c.Request.Context(), principal(c), id, f)
	if err != nil {
		fail(c, err)
		return
	}
	sendPage(c, "notices", ns, total, q, nil)
}

func (s *Server) noticeDetail(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	v, err := s.Notices.Get(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (s *Server) approveNotice(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	n, err := s.Notices.Approve(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, n)
}

func (s *Server) sendNotice(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	n, count, err := s.Notices.Send(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"notice": n, "recipients": count})
}

func (s *Server) noticeReport(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	r, err := s.Notices.ReportOf(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (s *Server) markNoticeRead(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	if err := s.Notices.MarkRead(c.Request.Context(), principal(c), id); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) myNotices(c *gin.Context) {
	items, unread, err := s.Notices.Inbox(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	if items == nil {
		items = []notice.InboxItem{}
	}
	c.JSON(http.StatusOK, gin.H{"notices": items, "unread": unread})
}

func (s *Server) myUnreadNotices(c *gin.Context) {
	n, err := s.Notices.UnreadCount(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"unread": n})
}

func (s *Server) mySubscriptions(c *gin.Context) {
	subs, err := s.Notices.MySubscriptions(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"subscriptions": subs})
}

type subscribeRequest struct {
	// Results is what wx.requestSubscribeMessage answered: template ID →
	// "accept", "reject", "ban" or "filter".
	Results map[string]string `json:"results" binding:"required,min=1,max=20"`
}

func (s *Server) subscribe(c *gin.Context) {
	var req subscribeRequest
	if !bindJSON(c, &req) {
		return
	}
	if _, err := s.Notices.Subscribe(c.Request.Context(), principal(c), req.Results); err != nil {
		fail(c, err)
		return
	}
	s.mySubscriptions(c)
}

func (s *Server) noticeImage(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	key := c.Param("key")
	if !files.ValidKey(key) {
		fail(c, louyuan.NotFound("file_not_found", "文件不存在"))
		return
	}
	if err := s.Notices.Image(c.Request.Context(), principal(c), id, key); err != nil {
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
