// Package council owns courtyard councils (楼院理事会) beyond their terms'
// roles: the staff assigned to a council ("1+4+2+N"), and the election of
// its next term — the election unit, candidates and their nominators, the
// eligibility checklist with staff findings and one appeal, the ballot (a
// motion of rule election on the voting engine) and the confirmation that
// turns the elected into the council's new term (SPEC §2, §8).
//
// Council roles themselves are not granted: identity resolves
// council_chair, council_member and council_treasurer from the council
// terms running today, so a confirmed election changes who holds them.
package council

import (
	"context"
	"time"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/voting"
)

// Seats of a term.
const (
	SeatChair     = "chair"
	SeatMember    = "member"
	SeatTreasurer = "treasurer"
)

// Staff roles on a council: "1+4+2+N" is one subdistrict leader, four grid
// workers and two community cadres with the N council members.
const (
	StaffLeader     = "leader"
	StaffGridWorker = "grid_worker"
	StaffCadre      = "cadre"
)

// StaffQuota is how many staff of each role one council has at most.
var StaffQuota = map[string]int{StaffLeader: 1, StaffGridWorker: 4, StaffCadre: 2}

// Council serves one courtyard or several jointly.
type Council struct {
	ID           int64         `json:"id"`
	Name         string        `json:"name"`
	CourtyardIDs []int64       `json:"courtyard_ids"`
	Terms        []Term        `json:"terms"`
	Staff        []StaffMember `json:"staff"`
	CreatedAt    time.Time     `json:"created_at"`
}

// Term is one council term with its members; dates are China calendar
// days, YYYY-MM-DD, both included.
type Term struct {
	ID       int64    `json:"id"`
	StartsOn string   `json:"starts_on"`
	EndsOn   string   `json:"ends_on"`
	Current  bool     `json:"current"`
	Members  []Member `json:"members"`
}

// Member holds a seat in a term.
type Member struct {
	UserID int64  `json:"user_id"`
	Name   string `json:"name"`
	Seat   string `json:"seat"`
}

// StaffMember is a staff account assigned to a council.
type StaffMember struct {
	StaffID int64  `json:"staff_id"`
	Name    string `json:"name"`
	Role    string `json:"role"`
}

// Election statuses: candidates are nominated and vetted, then published;
// the ballot (a motion) is drawn from the eligible ones; staff confirm the
// result, which starts the new term.
const (
	ElectionNominating = "nominating"
	ElectionPublished  = "published"
	ElectionBallot     = "ballot"
	ElectionConfirmed  = "confirmed"
)

// Election elects a council's next term in one election unit.
type Election struct {
	ID           int64     `json:"id"`
	CouncilID    int64     `json:"council_id"`
	CourtyardID  int64     `json:"courtyard_id"`
	ScopeType    string    `json:"scope_type"`
	ScopeID      int64     `json:"scope_id"`
	Title        string    `json:"title"`
	Seats        int       `json:"seats"`
	TermStartsOn string    `json:"term_starts_on"`
	TermEndsOn   string    `json:"term_ends_on"`
	Status       string    `json:"status"`
	MotionID     int64     `json:"motion_id,omitempty"`
	TermID       int64     `json:"term_id,omitempty"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	PublishedAt  time.Time `json:"published_at,omitzero"`
	ConfirmedBy  string    `json:"confirmed_by,omitempty"`
	ConfirmedAt  time.Time `json:"confirmed_at,omitzero"`
}

// Nomination sources.
const (
	SourceCommunity = "community" // 街道社区推荐
	SourceSelf      = "self"      // 居民自荐
	SourceResidents = "residents" // 居民推选
)

// Candidate stands in an election.
type Candidate struct {
	ID          int64       `json:"id"`
	ElectionID  int64       `json:"election_id"`
	UserID      int64       `json:"user_id"`
	HouseholdID int64       `json:"household_id"`
	Name        string      `json:"name"`
	Source      string      `json:"source"`
	Statement   string      `json:"statement"`
	OptionKey   string      `json:"option_key,omitempty"`
	NominatedBy string      `json:"nominated_by"`
	Nominators  []Nominator `json:"nominators,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	// Eligibility is computed from the findings: pending, eligible or
	// ineligible.
	Eligibility string `json:"eligibility,omitempty"`
}

// Nominator is a household representative who nominated a candidate.
type Nominator struct {
	UserID      int64 `json:"user_id"`
	HouseholdID int64 `json:"household_id"`
}

// Eligibility outcomes.
const (
	Pending    = "pending"
	Eligible   = "eligible"
	Ineligible = "ineligible"
)

// Finding is staff's finding on one criterion of a candidate.
type Finding struct {
	CandidateID  int64  `json:"candidate_id"`
	Criterion    string `json:"criterion"`
	Pass         bool   `json:"pass"`
	Note         string `json:"note"`
	EvidenceFile string `json:"evidence_file,omitempty"`
	FoundBy      string `json:"found_by"`
	UpdatedBy    string `json:"updated_by"`
	// FoundByName and UpdatedByName are the staff members' names (for
	// the console).
	FoundByName   string    `json:"found_by_name,omitempty"`
	UpdatedByName string    `json:"updated_by_name,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Appeal is a candidate's one appeal against being found ineligible.
type Appeal struct {
	CandidateID   int64     `json:"candidate_id"`
	Reason        string    `json:"reason"`
	FiledAt       time.Time `json:"filed_at"`
	Decided       bool      `json:"decided"`
	Upheld        bool      `json:"upheld"`
	DecisionNote  string    `json:"decision_note,omitempty"`
	DecidedBy     string    `json:"decided_by,omitempty"`
	DecidedByName string    `json:"decided_by_name,omitempty"`
	DecidedAt     time.Time `json:"decided_at,omitzero"`
}

// Store keeps councils, elections and vetting. Methods join the
// transaction ctx carries.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error)
	CommunityPlace(ctx context.Context, communityID int64) (identity.Place, error)
	// ScopeCourtyard finds the courtyard of a building or unit.
	ScopeCourtyard(ctx context.Context, scopeType string, scopeID int64) (int64, error)
	CreateCouncil(ctx context.Context, name string, courtyardIDs []int64, startsOn, endsOn string, at time.Time) (int64, error)
	// Council reads a council with its courtyards, terms (members
	// included; current as of today) and staff.
	Council(ctx context.Context, id int64, today string) (Council, error)
	CourtyardCouncils(ctx context.Context, courtyardID int64) ([]int64, error)
	StaffName(ctx context.Context, staffID int64) (string, error)
	// LockCouncilStaff locks the council until the transaction ends and
	// reads its staff (the "1+4+2" quota holds under concurrent
	// assignments).
	LockCouncilStaff(ctx context.Context, councilID int64) ([]StaffMember, error)
	AddStaff(ctx context.Context, councilID, staffID int64, role, by string, at time.Time) error
	RemoveStaff(ctx context.Context, councilID, staffID int64) error
	UserName(ctx context.Context, userID int64) (string, error)
	// StartTerm ends the council's terms running on startsOn the day
	// before and adds a term with its members.
	StartTerm(ctx context.Context, councilID int64, startsOn, endsOn string, members []Member, at time.Time) (int64, error)

	CreateElection(ctx context.Context, e Election) (Election, error)
	Election(ctx context.Context, id int64) (Election, error)
	LockElection(ctx context.Context, id int64) (Election, error)
	UpdateElection(ctx context.Context, e Election) error
	Elections(ctx context.Context, councilID int64) ([]Election, error)
	// MemberHousehold finds a household in scope the user belongs to as
	// owner or family (never tenant).
	MemberHousehold(ctx context.Context, userID int64, scopeType string, scopeID int64) (int64, bool, error)
	// Represented lists the households the user represents, and which of
	// them lie in the scope.
	Represented(ctx context.Context, userID int64, scopeType string, scopeID int64) (all, inScope []int64, err error)
	// ScopeRepresentatives lists the representatives of the households in
	// scope (for notices).
	ScopeRepresentatives(ctx context.Context, scopeType string, scopeID int64) ([]int64, error)
	CreateCandidate(ctx context.Context, c Candidate) (Candidate, error)
	Candidate(ctx context.Context, id int64) (Candidate, error)
	Candidates(ctx context.Context, electionID int64) ([]Candidate, error)
	SetOptionKey(ctx context.Context, candidateID int64, key string) error
	// ClearOptionKeys takes every candidate of the election off the
	// ballot (before a new one is drawn).
	ClearOptionKeys(ctx context.Context, electionID int64) error
	Findings(ctx context.Context, candidateID int64) ([]Finding, error)
	// ElectionFindings lists the findings on every candidate of the
	// election, by candidate.
	ElectionFindings(ctx context.Context, electionID int64) (map[int64][]Finding, error)
	// PutFinding inserts or replaces a finding, keeping its first finder.
	PutFinding(ctx context.Context, f Finding) error
	Appeal(ctx context.Context, candidateID int64) (Appeal, bool, error)
	// InsertAppeal adds the candidate's appeal; a second one is a conflict
	// (the primary key).
	InsertAppeal(ctx context.Context, a Appeal) error
	DecideAppeal(ctx context.Context, a Appeal) error
	Switches(ctx context.Context, communityID int64) (map[string]bool, error)
	PutSwitch(ctx context.Context, communityID int64, criterion string, enabled bool, by string, at time.Time) error
	// Activity counts the notices, motions, petitions and opinions of
	// the courtyards.
	Activity(ctx context.Context, courtyardIDs []int64) (Activity, error)
	// UnitHouseholds lists the households in scope with their owners
	// and bound members.
	UnitHouseholds(ctx context.Context, scopeType string, scopeID int64) ([]UnitHousehold, error)
	// EvidenceExists reports whether a stored file of purpose
	// vetting_evidence has that key.
	EvidenceExists(ctx context.Context, key string) (bool, error)
}

// Motions is the voting engine as elections use it.
type Motions interface {
	Create(ctx context.Context, p identity.Principal, d voting.Draft) (voting.Motion, error)
	Motion(ctx context.Context, p identity.Principal, id int64) (voting.Motion, error)
}

// Notifier tells users of an event through the notice pipeline, inside the
// change's transaction; key makes the event once-only.
type Notifier interface {
	Tell(ctx context.Context, courtyardID int64, key, title, body, page string, users []int64) error
}

type noNotifier struct{}

func (noNotifier) Tell(context.Context, int64, string, string, string, string, []int64) error {
	return nil
}
