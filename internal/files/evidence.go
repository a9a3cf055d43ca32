package files

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// A photo of signed paper is evidence for what it shows, and for nothing
// else:
//
//   - a photo uploaded with purpose paper_ballot shows one household's paper
//     (a ballot, or a petition form): it vouches for that one household, in
//     one motion or petition;
//   - a photo uploaded with purpose paper_sheet shows one page listing
//     several households; the uploader declares them (household_ids) and it
//     vouches for exactly those, in one motion or petition.
//
// The first paper ballot or signature entered with a photo binds it. The
// same photo again for the same household and the same motion or petition
// is the same evidence (a correction of the entry); any other use is
// refused. The database holds the same rule (paper_evidence's unique key:
// a paper_ballot photo has one row at most; a sheet's rows reference its
// declared households).

// MaxSheetHouseholds is how many households one sheet may list.
const MaxSheetHouseholds = 100

// EvidenceUse is one household a photo vouches for, in one subject
// ("motion:12", "petition:3").
type EvidenceUse struct {
	FileKey     string
	HouseholdID int64
	Subject     string
}

// PaperPhoto is a stored photo with what it already vouches for.
type PaperPhoto struct {
	Meta  Meta
	Sheet []int64 // the households a paper_sheet lists
	Uses  []EvidenceUse
}

// EvidenceStore reads a photo's evidence and records a new use; both join
// the transaction carried by ctx. AddEvidence returns a KindConflict error
// when the database refuses the row (a use recorded a moment ago).
type EvidenceStore interface {
	PaperPhoto(ctx context.Context, key string) (PaperPhoto, bool, error)
	AddEvidence(ctx context.Context, use EvidenceUse, sheet bool) error
}

// CheckEvidence decides whether the photo may vouch for use in a courtyard
// (purposes: the purposes accepted there). It reports whether the use is
// already recorded (nothing to add), or the error naming the rule broken.
func CheckEvidence(ph PaperPhoto, found bool, courtyardID int64, what string, purposes []Purpose, use EvidenceUse) (bool, error) {
	want := make([]string, len(purposes))
	for i, p := range purposes {
		want[i] = string(p)
	}
	switch {
	case !found:
		return false, louyuan.Invalid("photo_not_found", fmt.Sprintf("找不到这张照片（%s），请先上传%s的照片（用途 %s）", use.FileKey, what, strings.Join(want, " 或 ")))
	case ph.Meta.CourtyardID == 0:
		return false, louyuan.Invalid("photo_required", fmt.Sprintf("这张照片上传时没有填写楼院编号（courtyard_id），不能作为%s的凭证；请上传时填写 courtyard_id=%d 后重新上传", what, courtyardID))
	case ph.Meta.CourtyardID != courtyardID:
		return false, louyuan.Invalid("photo_other_courtyard", fmt.Sprintf("这张照片是为另一个楼院上传的，不能作为本楼院%s的凭证；请以 courtyard_id=%d 重新上传", what, courtyardID))
	case !slices.Contains(purposes, ph.Meta.Purpose):
		return false, louyuan.Invalid("photo_wrong_purpose", fmt.Sprintf("这张照片的用途是 %s，%s须使用用途为 %s 的照片", ph.Meta.Purpose, what, strings.Join(want, " 或 ")))
	}
	for _, u := range ph.Uses {
		if u.Subject != use.Subject {
			return false, louyuan.Conflict("photo_used_elsewhere", fmt.Sprintf("这张照片已作为%s的凭证，一张照片只能用于一项表决或征求；请为本次上传这张纸的照片", subjectLabel(u.Subject)))
		}
		if u.HouseholdID == use.HouseholdID {
			return true, nil
		}
	}
	if ph.Meta.Purpose == PurposePaperSheet {
		if !slices.Contains(ph.Sheet, use.HouseholdID) {
			return false, louyuan.Invalid("photo_not_on_sheet", fmt.Sprintf("该户（房屋编号 %d）不在这张多户签字表上传时列出的房屋中；请核对房屋，或为该户的纸另行上传照片", use.HouseholdID))
		}
		return false, nil
	}
	if len(ph.Uses) > 0 {
		return false, louyuan.Conflict("photo_reused", fmt.Sprintf("这张照片已作为另一户（房屋编号 %d）的凭证，一张 %s 照片只证明一户；一页纸上有多户签字的，请以用途 %s 上传并列出这些房屋（household_ids）",
			ph.Uses[0].HouseholdID, PurposePaperBallot, PurposePaperSheet))
	}
	return false, nil
}

// ClaimEvidence checks the photo for use and records the use, inside the
// caller's transaction.
func ClaimEvidence(ctx context.Context, st EvidenceStore, courtyardID int64, what string, purposes []Purpose, use EvidenceUse) error {
	ph, found, err := st.PaperPhoto(ctx, use.FileKey)
	if err != nil {
		return err
	}
	recorded, err := CheckEvidence(ph, found, courtyardID, what, purposes, use)
	if err != nil || recorded {
		return err
	}
	return st.AddEvidence(ctx, use, ph.Meta.Purpose == PurposePaperSheet)
}

func subjectLabel(subject string) string {
	kind, id, _ := strings.Cut(subject, ":")
	n, _ := strconv.ParseInt(id, 10, 64)
	switch kind {
	case "motion":
		return fmt.Sprintf("另一项表决（编号 %d）", n)
	case "petition":
		return fmt.Sprintf("另一项征求（编号 %d）", n)
	}
	return "别的事项"
}
