package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/export"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/petition"
	"github.com/louyuan/louyuan/internal/voting"
)

// fullPhones reads ?phones=masked|full.
func fullPhones(c *gin.Context) (bool, bool) {
	switch c.Query("phones") {
	case "", "masked":
		return false, true
	case "full":
		return true, true
	}
	fail(c, louyuan.Invalid("bad_phones", "phones 只能是 masked 或 full"))
	return false, false
}

// download starts a file response once the first byte is about to be
// written, so that an error before that is still a JSON error.
type download struct {
	c           *gin.Context
	name, ctype string
	w           *bufio.Writer
}

func (d *download) Write(p []byte) (int, error) {
	if d.w == nil {
		d.c.Header("Content-Disposition", export.ContentDisposition(d.name))
		d.c.Header("Content-Type", d.ctype)
		d.c.Header("Cache-Control", "no-store")
		d.c.Status(http.StatusOK)
		d.w = bufio.NewWriterSize(d.c.Writer, 64<<10)
	}
	return d.w.Write(p)
}

func (d *download) finish(err error) {
	if d.w == nil {
		if err != nil {
			fail(d.c, err)
		}
		return
	}
	if err == nil {
		err = d.w.Flush()
	}
	if err != nil {
		// The headers are gone: drop the connection so that the download
		// fails visibly instead of leaving a silently truncated file.
		slog.ErrorContext(d.c.Request.Context(), "export failed after it started", "request_id", d.c.GetString(requestIDKey), "err", err)
		if hj, ok := d.c.Writer.(http.Hijacker); ok {
			if conn, _, herr := hj.Hijack(); herr == nil {
				conn.Close()
			}
		}
	}
}

const (
	xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	csvType  = "text/csv; charset=utf-8"
)

func stamp() string { return time.Now().In(louyuan.China).Format("20060102-1504") }

func (s *Server) exportSignatures(format string) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := idParam(c, "id")
		if !ok {
			return
		}
		full, ok := fullPhones(c)
		if !ok {
			return
		}
		list := c.DefaultQuery("list", "signed")
		if format == "csv" && list != "signed" && list != "not_signed" {
			fail(c, louyuan.Invalid("bad_list", "list 只能是 signed 或 not_signed"))
			return
		}
		d := &download{c: c, ctype: xlsxType}
		ctx, rows, att := exportContexts(c)
		err := s.Petitions.Export(ctx, principal(c), id, full, s.Phones, petitionRows{s.PetitionExport, rows},
			func(pt petition.Petition, lists petition.Lists) error {
				seal := &export.Seal{Subject: fmt.Sprintf("联名 #%d %s", pt.ID, pt.Title), Scope: scopeText(pt.ScopeType, pt.ScopeID)}
				defer att.take(seal)
				if format == "xlsx" {
					d.name, seal.What = fmt.Sprintf("%s签名名单-%s.xlsx", pt.Title, stamp()), "签名名单（已签名、未签名）"
					return export.SignaturesXLSXSealed(d, pt, lists.All, seal)
				}
				d.ctype = csvType
				if list == "signed" {
					d.name, seal.What = fmt.Sprintf("%s已签名-%s.csv", pt.Title, stamp()), "签名名单（已签名）"
					return export.SignaturesCSVSealed(d, lists.Signed, true, seal)
				}
				d.name, seal.What = fmt.Sprintf("%s未签名-%s.csv", pt.Title, stamp()), "签名名单（未签名）"
				return export.SignaturesCSVSealed(d, lists.NotSigned, false, seal)
			})
		d.finish(err)
	}
}

func (s *Server) exportResults(format string) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := idParam(c, "id")
		if !ok {
			return
		}
		full, ok := fullPhones(c)
		if !ok {
			return
		}
		d := &download{c: c, ctype: xlsxType}
		ctx, rows, att := exportContexts(c)
		err := s.Voting.ExportResults(ctx, principal(c), id, full, s.Phones, resultRows{s.VotingExport, rows},
			func(m voting.Motion, t voting.Disclosure, rows func(func(voting.ResultRow) error) error) error {
				seal := &export.Seal{What: "表决结果", Subject: fmt.Sprintf("表决 #%d %s", m.ID, m.Title), Scope: scopeText(m.ScopeType, m.ScopeID)}
				defer att.take(seal)
				if format == "xlsx" {
					d.name = fmt.Sprintf("%s表决结果-%s.xlsx", m.Title, stamp())
					return export.ResultsXLSXSealed(d, m, t, rows, seal)
				}
				d.ctype, d.name = csvType, fmt.Sprintf("%s表决结果-%s.csv", m.Title, stamp())
				return export.ResultsCSVSealed(d, m, t, rows, seal)
			})
		d.finish(err)
	}
}

var _ io.Writer = (*download)(nil)

// exportContexts splits an export's context in two. The service runs on one
// that outlives the request, so that its audit entry ("completed": false)
// is written even when the client hangs up mid-download: rows may already
// have left; it carries the attachment through which the export's seal
// reaches that audit entry. The rows are read on the request's own, so
// that the database stops streaming once nobody is listening.
func exportContexts(c *gin.Context) (service, rows context.Context, att sealAttachment) {
	rows = c.Request.Context()
	at := &audit.Attachment{}
	return audit.WithAttachment(context.WithoutCancel(rows), at), rows, sealAttachment{at}
}

// petitionRows streams a petition's households on the request's context.
type petitionRows struct {
	store petition.ExportStore
	ctx   context.Context
}

func (r petitionRows) EachHousehold(_ context.Context, p petition.Petition, list petition.List, fn func(petition.HouseholdRow) error) error {
	return r.store.EachHousehold(r.ctx, p, list, fn)
}

// resultRows streams a motion's result rows in the service's context (the
// snapshot that counted the totals travels in it) but only while the
// request lasts.
type resultRows struct {
	store voting.ExportStore
	ctx   context.Context // the request's
}

func (r resultRows) EachResult(ctx context.Context, motionID int64, fn func(voting.ResultRow) error) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(r.ctx, stop)()
	return r.store.EachResult(ctx, motionID, fn)
}

// sealAttachment hands an export's seal to the export's audit entry.
type sealAttachment struct{ *audit.Attachment }

// take records the seal's digest once the file is written (a failed
// export has none: completed is false in its audit entry).
func (a sealAttachment) take(s *export.Seal) {
	if s.Digest != "" {
		a.Detail = s.SealDetail()
	}
}

// scopeText names a scope for an export's seal ("unit 12").
func scopeText(scopeType string, id int64) string {
	label := map[string]string{"courtyard": "楼院", "building": "楼栋", "unit": "单元"}[scopeType]
	if label == "" {
		label = scopeType
	}
	return fmt.Sprintf("%s #%d（%s %d）", label, id, scopeType, id)
}
