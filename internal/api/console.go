package api

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/console"
)

// consoleTypes are the content types of the console's files, fixed here
// rather than read from the host's MIME tables.
var consoleTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".json":  "application/json",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".ttf":   "font/ttf",
	".txt":   "text/plain; charset=utf-8",
}

// consoleRoutes serves the staff console embedded from internal/console at
// /console/: a file when one exists, index.html for every other path (the
// single-page application routes in the browser), 404 for missing assets.
func (s *Server) consoleRoutes(r *gin.Engine) {
	assets := s.Console
	if assets == nil {
		assets = console.Assets()
	}
	r.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/console/") })
	r.GET("/console/*path", func(c *gin.Context) { serveConsole(c, assets) })
}

func serveConsole(c *gin.Context, assets fs.FS) {
	name := strings.TrimPrefix(path.Clean("/"+c.Param("path")), "/")
	if name == "" {
		name = "index.html"
	}
	body, err := fs.ReadFile(assets, name)
	if err != nil {
		if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" && name != "index.html" {
			fail(c, errNoRoute)
			return
		}
		name = "index.html"
		if body, err = fs.ReadFile(assets, name); err != nil {
			fail(c, errNoRoute)
			return
		}
	}
	ct, ok := consoleTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	h := c.Header
	h("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(name, "assets/") {
		h("Cache-Control", "public, max-age=31536000, immutable") // names carry a content hash
	} else {
		h("Cache-Control", "no-cache")
		h("X-Frame-Options", "DENY")
	}
	c.Data(http.StatusOK, ct, body)
}

type courtyardsResponse struct {
	Courtyards []courtyardJSON `json:"courtyards"`
}

type courtyardJSON struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Address       string `json:"address"`
	CommunityID   int64  `json:"community_id"`
	Community     string `json:"community"`
	SubdistrictID int64  `json:"subdistrict_id"`
	Subdistrict   string `json:"subdistrict"`
}

// myCourtyards lists the courtyards the caller works in as staff or council:
// the top of the console's places tree.
func (s *Server) myCourtyards(c *gin.Context) {
	cs, err := s.Roster.CourtyardsFor(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	out := courtyardsResponse{Courtyards: make([]courtyardJSON, len(cs))}
	for i, y := range cs {
		out.Courtyards[i] = courtyardJSON{ID: y.ID, Name: y.Name, Address: y.Address, CommunityID: y.CommunityID,
			Community: y.Community, SubdistrictID: y.SubdistrictID, Subdistrict: y.Subdistrict}
	}
	c.JSON(http.StatusOK, out)
}
