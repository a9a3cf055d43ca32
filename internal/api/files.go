package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/louyuan"
)

func (s *Server) uploadFile(c *gin.Context) {
	purpose := files.Purpose(c.PostForm("purpose"))
	var courtyardID int64
	if v := c.PostForm("courtyard_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			fail(c, errBadID)
			return
		}
		courtyardID = id
	}
	var households []int64
	for _, field := range c.PostFormArray("household_ids") {
		for _, v := range strings.Split(field, ",") {
			if v = strings.TrimSpace(v); v == "" {
				continue
			}
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				fail(c, louyuan.Invalid("bad_household_ids", "房屋编号（household_ids）须为正整数，多个用英文逗号分隔"))
				return
			}
			households = append(households, id)
		}
	}
	data, ok := uploadedFile(c, "file")
	if !ok {
		return
	}
	m, err := s.Files.Upload(c.Request.Context(), principal(c), purpose, courtyardID, households, data)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, m)
}

func (s *Server) downloadFile(c *gin.Context) {
	key := c.Param("key")
	if !files.ValidKey(key) {
		fail(c, louyuan.NotFound("file_not_found", "文件不存在"))
		return
	}
	m, data, err := s.Files.Download(c.Request.Context(), principal(c), key)
	if err != nil {
		fail(c, err)
		return
	}
	serveFile(c, m.ContentType, data)
}

// serveFile answers with an uploaded file's bytes: cached by the caller's
// client only, never sniffed into another type.
func serveFile(c *gin.Context, contentType string, data []byte) {
	c.Header("Cache-Control", "private, max-age=3600")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, contentType, data)
}
