package roster

import "github.com/louyuan/louyuan/internal/louyuan"

// ImportRow is one household line of a roster spreadsheet, already checked
// for form (required cells present, floor an integer, area a decimal).
type ImportRow struct {
	Line     int    // 1-based spreadsheet row, for error reports
	Building string // e.g. "1号楼"
	Unit     string // e.g. "2单元"
	Room     string // e.g. "301"
	Floor    int
	Area     louyuan.Area
	Owners   []OwnerRef
	// SameNamesakes is the row's 同名是同一人 mark: its owners without ID
	// digits are the same persons as their namesakes on other marked rows
	// (see Holding).
	SameNamesakes bool
}

// OwnerRef names an owner on a roster line. IDTail (the last four characters
// of the owner's ID card, optional) tells apart two owners of the same name
// in one courtyard.
type OwnerRef struct {
	Name   string
	IDTail string
}

// RowError is one problem found in an imported roster, in words a clerk can
// fix in the spreadsheet: row number, column header and reason (Chinese).
type RowError struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// InviteSlip is one printed invitation: a household and a fresh one-time
// code that binds whoever enters it to that household.
type InviteSlip struct {
	Courtyard string     `json:"courtyard"`
	Building  string     `json:"building"`
	Unit      string     `json:"unit"`
	Room      string     `json:"room"`
	Role      MemberRole `json:"role"`
	Code      string     `json:"code"`
	ExpiresAt string     `json:"expires_at"` // formatted for print, e.g. "2026-12-31"
}
