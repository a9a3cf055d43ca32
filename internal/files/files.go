// Package files owns uploaded files (photos of paper ballots and signed
// authorisations, handwritten signatures, notice images): which kinds are
// accepted, how big they may be, and where the bytes go. Bytes go to a Blobs
// implementation every server instance can read (a shared folder here;
// S3-compatible storage in production), metadata to the database.
package files

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // decode JPEG headers
	_ "image/png"  // decode PNG headers
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// Purpose says what a file is for; each has its own limits.
type Purpose string

// The purposes.
const (
	PurposePaperBallot   Purpose = "paper_ballot" // one household's signed paper (a ballot or a petition form)
	PurposePaperSheet    Purpose = "paper_sheet"  // one page listing several households (declared at upload)
	PurposeAuthorisation Purpose = "proxy_authorisation"
	PurposeSignature     Purpose = "signature"
	PurposeNoticeImage   Purpose = "notice_image"
	// PurposeVettingEvidence backs staff's finding on a candidate.
	PurposeVettingEvidence Purpose = "vetting_evidence"
	// PurposeOpinionPhoto is a photo of a resident's opinion.
	PurposeOpinionPhoto Purpose = "opinion_photo"
)

type rule struct {
	maxBytes int64
	types    []string
	maxSide  int
}

var rules = map[Purpose]rule{
	PurposePaperBallot:     {8 << 20, []string{"image/jpeg", "image/png"}, 8000},
	PurposePaperSheet:      {8 << 20, []string{"image/jpeg", "image/png"}, 8000},
	PurposeAuthorisation:   {8 << 20, []string{"image/jpeg", "image/png"}, 8000},
	PurposeSignature:       {512 << 10, []string{"image/png"}, 2000},
	PurposeNoticeImage:     {4 << 20, []string{"image/jpeg", "image/png"}, 6000},
	PurposeVettingEvidence: {8 << 20, []string{"image/jpeg", "image/png"}, 8000},
	PurposeOpinionPhoto:    {8 << 20, []string{"image/jpeg", "image/png"}, 8000},
}

// Meta describes a stored file.
type Meta struct {
	Key         string    `json:"key"`
	Purpose     Purpose   `json:"purpose"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	UploadedBy  string    `json:"uploaded_by"`
	CourtyardID int64     `json:"courtyard_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Uploaded is a file just stored, with the households it lists when it is
// a paper_sheet.
type Uploaded struct {
	Meta
	Households []int64 `json:"household_ids,omitempty"`
}

// Blobs stores file bytes by key.
type Blobs interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
	Get(ctx context.Context, key string) ([]byte, error)
}

// MetaStore keeps file metadata.
type MetaStore interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	CreateFile(ctx context.Context, m Meta) error
	// CreateSheet records the households a paper_sheet lists; each must be
	// a household of the courtyard.
	CreateSheet(ctx context.Context, key string, courtyardID int64, households []int64) error
	File(ctx context.Context, key string) (Meta, error)
	// CourtyardPlace locates a courtyard for authorisation.
	CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error)
	// IsResident reports whether a user is bound to a household of the courtyard.
	IsResident(ctx context.Context, userID, courtyardID int64) (bool, error)
	// SealedEvidence reports whether the file is the photo of a paper
	// ballot of a secret motion.
	SealedEvidence(ctx context.Context, key string) (bool, error)
}

// Service checks and stores uploads.
type Service struct {
	blobs Blobs
	meta  MetaStore
	audit audit.Appender
	now   func() time.Time
}

// NewService wires the file service.
func NewService(b Blobs, m MetaStore, al audit.Appender) *Service {
	return &Service{blobs: b, meta: m, audit: al, now: time.Now}
}

// Check validates data for purpose and returns its content type. The type
// is sniffed from the bytes, never taken from the client, and the image
// header must decode with sane dimensions.
func Check(purpose Purpose, data []byte) (string, error) {
	r, ok := rules[purpose]
	if !ok {
		return "", louyuan.Invalid("bad_purpose", "未知的文件用途")
	}
	if len(data) == 0 {
		return "", louyuan.Invalid("file_empty", "上传的文件是空的")
	}
	if int64(len(data)) > r.maxBytes {
		return "", &louyuan.Error{Kind: louyuan.KindTooLarge, Code: "file_too_large",
			Message: fmt.Sprintf("文件太大，最大 %d KB", r.maxBytes>>10)}
	}
	ct := http.DetectContentType(data)
	allowed := false
	for _, t := range r.types {
		allowed = allowed || t == ct
	}
	if !allowed {
		return "", louyuan.Invalid("file_type", "只能上传 "+strings.Join(labels(r.types), "、")+" 图片")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return "", louyuan.Invalid("file_corrupt", "图片已损坏，无法打开")
	}
	if cfg.Width > r.maxSide || cfg.Height > r.maxSide {
		return "", louyuan.Invalid("image_too_big", fmt.Sprintf("图片尺寸过大，长宽不能超过 %d 像素", r.maxSide))
	}
	return ct, nil
}

// sheetHouseholds checks the households listed with an upload: a
// paper_sheet lists 2 to MaxSheetHouseholds distinct households (sorted on
// return), any other purpose none.
func sheetHouseholds(purpose Purpose, courtyardID int64, households []int64) ([]int64, error) {
	if purpose != PurposePaperSheet {
		if len(households) > 0 {
			return nil, louyuan.Invalid("households_not_allowed", "只有用途为 paper_sheet（多户签字表）的照片才能列出房屋（household_ids）")
		}
		return nil, nil
	}
	out := slices.Clone(households)
	slices.Sort(out)
	out = slices.Compact(out)
	switch {
	case len(out) != len(households):
		return nil, louyuan.Invalid("sheet_households_repeated", "多户签字表列出的房屋（household_ids）有重复，请核对")
	case len(out) < 2:
		return nil, louyuan.Invalid("sheet_households_required", "多户签字表（paper_sheet）须列出表上签字的全部房屋（household_ids，至少2户）；只有一户的请以用途 paper_ballot 上传")
	case len(out) > MaxSheetHouseholds:
		return nil, louyuan.Invalid("sheet_too_many_households", fmt.Sprintf("一张多户签字表最多列出 %d 户，请按页分别上传", MaxSheetHouseholds))
	case out[0] <= 0:
		return nil, louyuan.Invalid("bad_household_ids", "房屋编号（household_ids）须为正整数")
	}
	return out, nil
}

func labels(types []string) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = strings.ToUpper(strings.TrimPrefix(t, "image/"))
	}
	return out
}

// Upload checks and stores a file for p. A courtyard (when given) scopes who
// may read it later. A paper_sheet lists the households on the page
// (households); no other purpose takes any.
func (s *Service) Upload(ctx context.Context, p identity.Principal, purpose Purpose, courtyardID int64, households []int64, data []byte) (Uploaded, error) {
	ct, err := Check(purpose, data)
	if err != nil {
		return Uploaded{}, err
	}
	households, err = sheetHouseholds(purpose, courtyardID, households)
	if err != nil {
		return Uploaded{}, err
	}
	if purpose == PurposePaperSheet {
		if courtyardID == 0 {
			return Uploaded{}, louyuan.Invalid("courtyard_required", "多户签字表（paper_sheet）须填写楼院编号（courtyard_id），表上的房屋须是该楼院的房屋")
		}
		place, err := s.meta.CourtyardPlace(ctx, courtyardID)
		if err != nil {
			return Uploaded{}, err
		}
		if !p.Can(place, identity.CouncilOrStaff...) {
			return Uploaded{}, louyuan.Forbidden("not_in_scope", "只有本楼院的理事会成员或工作人员可以上传多户签字表")
		}
	}
	if courtyardID != 0 {
		place, err := s.meta.CourtyardPlace(ctx, courtyardID)
		if err != nil {
			return Uploaded{}, err
		}
		allowed := p.Can(place, identity.CouncilOrStaff...)
		if !allowed && p.Kind == identity.KindUser {
			if allowed, err = s.meta.IsResident(ctx, p.ID, courtyardID); err != nil {
				return Uploaded{}, err
			}
		}
		if !allowed {
			return Uploaded{}, louyuan.Forbidden("not_in_scope", "您不是该楼院的住户或工作人员，不能为其上传文件")
		}
	}
	sum := sha256.Sum256(data)
	m := Meta{Key: newKey(purpose, ct), Purpose: purpose, ContentType: ct, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		UploadedBy: p.Ref(), CourtyardID: courtyardID, CreatedAt: s.now().UTC()}
	// Bytes first: a crash between the two leaves an orphan blob, never a
	// record pointing at nothing.
	if err := s.blobs.Put(ctx, m.Key, data, ct); err != nil {
		return Uploaded{}, &louyuan.Error{Kind: louyuan.KindUnavailable, Code: "storage_unavailable", Message: "文件存储暂时不可用，请稍后再试", Err: err}
	}
	err = s.meta.InTx(ctx, func(ctx context.Context) error {
		if err := s.meta.CreateFile(ctx, m); err != nil {
			return err
		}
		detail := map[string]any{"purpose": string(purpose), "size": m.Size, "sha256": m.SHA256}
		if len(households) > 0 {
			if err := s.meta.CreateSheet(ctx, m.Key, courtyardID, households); err != nil {
				return err
			}
			detail["households"] = households
		}
		stream := audit.GlobalStream
		if courtyardID != 0 {
			stream = audit.CourtyardStream(courtyardID)
		}
		return s.audit.Append(ctx, audit.Record{Stream: stream, Actor: p.Ref(), Action: "file.upload", Object: "file:" + m.Key, Detail: detail})
	})
	return Uploaded{Meta: m, Households: households}, err
}

// Download returns a file to its uploader, or to the council and staff of
// its courtyard.
func (s *Service) Download(ctx context.Context, p identity.Principal, key string) (Meta, []byte, error) {
	m, err := s.meta.File(ctx, key)
	if err != nil {
		return Meta{}, nil, err
	}
	allowed := m.UploadedBy == p.Ref()
	if !allowed && m.CourtyardID != 0 {
		place, err := s.meta.CourtyardPlace(ctx, m.CourtyardID)
		if err != nil {
			return Meta{}, nil, err
		}
		allowed = p.Can(place, identity.CouncilOrStaff...)
	}
	if !allowed {
		return Meta{}, nil, louyuan.NotFound("file_not_found", "文件不存在")
	}
	// The photo of a signed secret ballot shows the household's choice: it
	// stays sealed with the exact count, for a court or a recount.
	if sealed, err := s.meta.SealedEvidence(ctx, key); err != nil {
		return Meta{}, nil, err
	} else if sealed {
		return Meta{}, nil, louyuan.Forbidden("ballot_photo_sealed", "这是不记名表决的纸质选票照片，已封存，不能查看；法院或重新计票需要时由运维人员依法调取")
	}
	data, err := s.blobs.Get(ctx, key)
	if err != nil {
		return Meta{}, nil, &louyuan.Error{Kind: louyuan.KindUnavailable, Code: "storage_unavailable", Message: "文件存储暂时不可用，请稍后再试", Err: err}
	}
	return m, data, nil
}

// Attached returns a stored file for a caller whose right to see it the
// caller's service has checked (a notice's image, for its recipients).
func (s *Service) Attached(ctx context.Context, key string) (Meta, []byte, error) {
	m, err := s.meta.File(ctx, key)
	if err != nil {
		return Meta{}, nil, err
	}
	data, err := s.blobs.Get(ctx, key)
	if err != nil {
		return Meta{}, nil, &louyuan.Error{Kind: louyuan.KindUnavailable, Code: "storage_unavailable", Message: "文件存储暂时不可用，请稍后再试", Err: err}
	}
	return m, data, nil
}

func newKey(p Purpose, contentType string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	ext := ".png"
	if contentType == "image/jpeg" {
		ext = ".jpg"
	}
	return string(p) + "-" + hex.EncodeToString(b) + ext
}

// ValidKey reports whether key has the form newKey makes (no paths).
func ValidKey(key string) bool {
	if len(key) > 100 || strings.ContainsAny(key, "/\\") || strings.Contains(key, "..") {
		return false
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return key != ""
}

// Dir keeps blobs in a folder; with several server instances it must be a
// shared mount.
type Dir struct{ root string }

// NewDir returns a Dir rooted at root, creating it.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create file folder: %w", err)
	}
	return &Dir{root: root}, nil
}

// Put writes the blob atomically (temp file, then rename).
func (d *Dir) Put(_ context.Context, key string, data []byte, _ string) error {
	if !ValidKey(key) {
		return errors.New("invalid file key")
	}
	tmp, err := os.CreateTemp(d.root, ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(d.root, key))
}

// Get reads a blob.
func (d *Dir) Get(_ context.Context, key string) ([]byte, error) {
	if !ValidKey(key) {
		return nil, errors.New("invalid file key")
	}
	f, err := os.Open(filepath.Join(d.root, key))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
