package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/louyuan"
)

type sheetHouseholdRow struct {
	FileKey     string `gorm:"primaryKey"`
	HouseholdID int64  `gorm:"primaryKey"`
}

func (sheetHouseholdRow) TableName() string { return "paper_sheet_households" }

type evidenceRow struct {
	ID               int64 `gorm:"primaryKey"`
	FileKey          string
	Slot             int64
	HouseholdID      int64
	Subject          string
	SheetHouseholdID *int64
	CreatedAt        time.Time
}

func (evidenceRow) TableName() string { return "paper_evidence" }

// CreateSheet records the households a paper sheet lists, each of which
// must be a household of the courtyard.
func (s *Files) CreateSheet(ctx context.Context, key string, courtyardID int64, households []int64) error {
	var n int64
	if err := s.db.conn(ctx).Model(&householdRow{}).Where("courtyard_id = ? AND id IN ?", courtyardID, households).Count(&n).Error; err != nil {
		return wrap(err, "check sheet households")
	}
	if int(n) != len(households) {
		return louyuan.Invalid("sheet_household_not_in_courtyard", "多户签字表列出的房屋（household_ids）中有不属于本楼院的，请核对房屋编号")
	}
	rows := make([]sheetHouseholdRow, len(households))
	for i, h := range households {
		rows[i] = sheetHouseholdRow{FileKey: key, HouseholdID: h}
	}
	return wrap(s.db.conn(ctx).Create(&rows).Error, "record sheet households")
}

// paperPhoto reads a photo with its declared households and its uses.
func paperPhoto(ctx context.Context, db *DB, key string) (files.PaperPhoto, bool, error) {
	m, err := NewFiles(db).File(ctx, key)
	if louyuan.IsKind(err, louyuan.KindNotFound) {
		return files.PaperPhoto{}, false, nil
	}
	if err != nil {
		return files.PaperPhoto{}, false, err
	}
	ph := files.PaperPhoto{Meta: m}
	if err := db.conn(ctx).Model(&sheetHouseholdRow{}).Where("file_key = ?", key).Order("household_id").Pluck("household_id", &ph.Sheet).Error; err != nil {
		return ph, false, wrap(err, "read sheet households")
	}
	var rows []evidenceRow
	if err := db.conn(ctx).Where("file_key = ?", key).Order("slot").Find(&rows).Error; err != nil {
		return ph, false, wrap(err, "read paper evidence")
	}
	for _, r := range rows {
		ph.Uses = append(ph.Uses, files.EvidenceUse{FileKey: r.FileKey, HouseholdID: r.HouseholdID, Subject: r.Subject})
	}
	return ph, true, nil
}

// addEvidence records one use of a photo; the unique key refuses a second
// household on a one-household photo, and the foreign key a household a
// sheet does not list.
func addEvidence(ctx context.Context, db *DB, use files.EvidenceUse, sheet bool) error {
	row := evidenceRow{FileKey: use.FileKey, HouseholdID: use.HouseholdID, Subject: use.Subject, CreatedAt: time.Now().UTC()}
	if sheet {
		h := use.HouseholdID
		row.Slot, row.SheetHouseholdID = h, &h
	}
	err := db.conn(ctx).Create(&row).Error
	if isDuplicate(err) {
		return louyuan.Conflict("photo_reused", fmt.Sprintf("这张照片已作为另一份纸质凭证登记过（刚刚由他人录入），一张 %s 照片只证明一户；请为该户的纸另行上传照片", files.PurposePaperBallot))
	}
	return wrap(err, "record paper evidence")
}

// PaperPhoto reads a photo and what it already vouches for.
func (s *Voting) PaperPhoto(ctx context.Context, key string) (files.PaperPhoto, bool, error) {
	return paperPhoto(ctx, s.db, key)
}

// AddEvidence records that a photo vouches for a household's paper ballot.
func (s *Voting) AddEvidence(ctx context.Context, use files.EvidenceUse, sheet bool) error {
	return addEvidence(ctx, s.db, use, sheet)
}

// PaperPhoto reads a photo and what it already vouches for.
func (s *Petitions) PaperPhoto(ctx context.Context, key string) (files.PaperPhoto, bool, error) {
	return paperPhoto(ctx, s.db, key)
}

// AddEvidence records that a photo vouches for a household's paper signature.
func (s *Petitions) AddEvidence(ctx context.Context, use files.EvidenceUse, sheet bool) error {
	return addEvidence(ctx, s.db, use, sheet)
}

// SealedEvidence reports whether a photo is the evidence of a ballot of a
// secret motion: such a photo shows a household's choice.
func (s *Files) SealedEvidence(ctx context.Context, key string) (bool, error) {
	var subjects []string
	if err := s.db.conn(ctx).Model(&evidenceRow{}).Where("file_key = ? AND subject LIKE ?", key, "motion:%").
		Distinct().Pluck("subject", &subjects).Error; err != nil {
		return false, wrap(err, "read evidence of file")
	}
	var ids []int64
	for _, subj := range subjects {
		var id int64
		if _, err := fmt.Sscanf(subj, "motion:%d", &id); err == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return false, nil
	}
	var n int64
	err := s.db.conn(ctx).Model(&motionRow{}).Where("id IN ? AND ballot_mode = ?", ids, "secret").Count(&n).Error
	return n > 0, wrap(err, "read ballot mode of evidence")
}
