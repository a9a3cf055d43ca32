package main

// The authorisation matrix: every operation of the OpenAPI document × every
// kind of caller, each cell's status written down in mxRows.
//
// Columns (always in this order, see mxCallers):
//
//	anon    no token
//	tenant  a tenant bound to household H1 (reads, never votes or signs)
//	res     a family member of H1, not its representative
//	rep     H1's representative
//	proxy   a family member of H3 holding an accepted delegation of H2
//	cnc     council member (seat "member") of courtyard 1
//	cncX    council member of courtyard 2 (another community)
//	stf     community staff of community 1 (courtyard 1's)
//	stfX    community staff of community 2
//	adm     subdistrict admin of the subdistrict of both
//	phone   a staff account holding phone_viewer over community 1 only
//
// Every object a row targets lies in courtyard 1. A caller of another scope
// must get the answer a missing object gets (404 with a *_not_found code)
// for motions, petitions, notices, files and delegations; courtyards
// themselves are public places (their list is on every notice board), so a
// courtyard-level route answers 403 not_in_scope there.
//
// Adding a route: add ONE line to mxRows with its "METHOD /path" exactly as
// in openapi.yaml, the eleven statuses, and a prep function that returns the
// concrete request (path with IDs, a valid body) for a caller. A prep
// receives the cell's expected status: where a success would change what
// later cells see (a motion published, a delegation revoked), give each
// succeeding cell a fresh object (see the pools in mxFixture) and the failing
// ones a shared one. The test fails for a documented route without a row and
// for a row whose route is not documented.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/louyuan/louyuan/internal/louyuan"
)

var mxCallerNames = []string{"anon", "tenant", "res", "rep", "proxy", "cnc", "cncX", "stf", "stfX", "adm", "phone"}

// mxRow is one operation's line of the matrix.
type mxRow struct {
	op   string // "METHOD /path" as in openapi.yaml
	want string // eleven statuses, in the order of mxCallerNames
	prep func(t *testing.T, fx *mxFixture, c *mxCaller, want int) mxReq
}

// mxReq is one cell's request. An empty path means the row's own path.
type mxReq struct {
	path   string
	body   any
	header http.Header
	token  *string // overrides the caller's token
}

var mxRows = []mxRow{
	// Public.
	{"GET /healthz", "200 200 200 200 200 200 200 200 200 200 200", mxPlain},
	{"GET /readyz", "200 200 200 200 200 200 200 200 200 200 200", mxPlain},
	{"GET /openapi.yaml", "200 200 200 200 200 200 200 200 200 200 200", mxPlain},
	{"GET /api/v1/roster-template.xlsx", "200 200 200 200 200 200 200 200 200 200 200", mxPlain},
	{"POST /api/v1/auth/wechat/login", "200 200 200 200 200 200 200 200 200 200 200", mxWeChatLogin},
	{"POST /api/v1/auth/staff/login", "200 200 200 200 200 200 200 200 200 200 200", mxStaffLogin},
	{"POST /api/v1/auth/refresh", "200 200 200 200 200 200 200 200 200 200 200", mxRefresh},
	// Identity and households.
	{"POST /api/v1/auth/logout", "401 204 204 204 204 204 204 204 204 204 204", mxLogout},
	{"GET /api/v1/me", "401 200 200 200 200 200 200 200 200 200 200", mxPlain},
	{"POST /api/v1/me/phone", "401 200 200 200 200 200 200 403 403 403 403", mxPhone},
	{"GET /api/v1/me/households", "401 200 200 200 200 200 200 403 403 403 403", mxPlain},
	{"POST /api/v1/me/households", "401 404 404 404 404 404 404 403 403 403 403", mxBindUnknown},
	{"POST /api/v1/households/{id}/bind-requests", "401 201 201 201 201 201 201 403 403 403 403", mxBindRequest},
	{"GET /api/v1/household-lookup", "401 200 200 200 200 200 200 403 403 403 403", mxLookup},
	{"GET /api/v1/me/bind-requests", "401 200 200 200 200 200 200 403 403 403 403", mxPlain},
	{"POST /api/v1/households/{id}/representative-requests", "401 403 201 201 403 403 403 403 403 403 403", mxRepRequest},
	{"DELETE /api/v1/households/{id}/members/{user_id}", "401 403 403 403 404 403 404 204 404 204 404", mxUnbind},
	{"GET /api/v1/courtyards/{id}/households", "401 403 403 403 403 200 403 200 403 200 403", mxYard("/households")},
	{"GET /api/v1/courtyards/{id}/requests", "401 403 403 403 403 200 403 200 403 200 403", mxYard("/requests")},
	{"POST /api/v1/courtyards/{id}/roster", "401 403 403 403 403 403 403 200 403 200 403", mxRoster},
	{"POST /api/v1/courtyards/{id}/invites", "401 403 403 403 403 201 403 201 403 201 403", mxInvites},
	{"PUT /api/v1/courtyards/{id}/settings", "401 403 403 403 403 403 403 200 403 200 403", mxSettings},
	{"POST /api/v1/requests/{kind}/{id}/decision", "401 403 403 403 403 403 403 200 403 200 403", mxDecision},
	{"POST /api/v1/grants", "401 403 403 403 403 403 403 403 403 204 403", mxGrant(false)},
	{"POST /api/v1/grants/revoke", "401 403 403 403 403 403 403 403 403 204 403", mxGrant(true)},
	{"POST /api/v1/files", "401 201 201 201 201 201 403 201 403 201 403", mxUpload},
	{"GET /api/v1/files/{key}", "401 404 404 404 404 200 404 200 404 200 404", mxDownload},
	// Voting.
	{"GET /api/v1/me/motions", "401 200 200 200 200 200 200 200 200 200 200", mxPlain},
	{"GET /api/v1/me/delegations", "401 200 200 200 200 200 200 200 200 200 200", mxPlain},
	{"POST /api/v1/courtyards/{id}/motions", "401 403 403 403 403 201 403 201 403 201 403", mxCreateMotion},
	{"GET /api/v1/courtyards/{id}/motions", "401 403 403 403 403 200 403 200 403 200 403", mxYard("/motions")},
	{"GET /api/v1/motions/{id}", "401 404 404 200 404 200 404 200 404 200 404", mxMotion("", "voting")},
	{"POST /api/v1/motions/{id}/publish", "401 404 404 404 404 200 404 200 404 200 404", mxMotion("/publish", "draft")},
	{"POST /api/v1/motions/{id}/cancel", "401 404 404 404 404 200 404 200 404 200 404", mxMotion("/cancel", "draft")},
	{"POST /api/v1/motions/{id}/open", "401 404 404 403 404 200 404 200 404 200 404", mxMotion("/open", "ready")},
	{"POST /api/v1/motions/{id}/close", "401 404 404 403 404 200 404 200 404 200 404", mxMotion("/close", "closable")},
	{"POST /api/v1/motions/{id}/finalize", "401 404 404 403 404 200 404 200 404 200 404", mxMotion("/finalize", "closed")},
	{"POST /api/v1/motions/{id}/extend", "401 404 404 403 404 403 404 200 404 200 404", mxExtend},
	{"POST /api/v1/motions/{id}/ballots", "401 403 403 201 403 403 403 403 403 403 403", mxBallot},
	{"POST /api/v1/motions/{id}/proxy-ballots", "401 200 200 200 200 200 200 403 403 403 403", mxProxyBallot},
	{"POST /api/v1/motions/{id}/paper-ballots", "401 404 404 403 404 201 404 201 404 201 404", mxPaperBallot},
	{"GET /api/v1/motions/{id}/turnout", "401 404 404 403 404 200 404 200 404 200 404", mxMotion("/turnout", "voting")},
	{"GET /api/v1/motions/{id}/reconciliation", "401 404 404 403 404 200 404 200 404 200 404", mxMotion("/reconciliation", "voting")},
	{"GET /api/v1/motions/{id}/results.xlsx", "401 404 404 403 404 403 404 200 404 200 404", mxMotion("/results.xlsx", "voting")},
	{"GET /api/v1/motions/{id}/results.csv", "401 404 404 403 404 403 404 200 404 200 404", mxMotion("/results.csv", "voting")},
	{"GET /api/v1/receipts/{code}", "401 200 200 200 200 200 200 200 200 200 200", mxReceipt},
	{"POST /api/v1/delegations", "401 403 403 201 403 403 403 403 403 403 403", mxDelegate},
	{"POST /api/v1/delegations/{id}/accept", "401 404 404 404 200 404 404 404 404 404 404", mxAccept},
	{"POST /api/v1/delegations/{id}/confirm", "401 404 404 404 404 200 404 200 404 200 404", mxConfirm},
	{"POST /api/v1/delegations/{id}/revoke", "401 404 404 200 404 404 404 200 404 200 404", mxRevoke},
	// Petitions.
	{"GET /api/v1/me/petitions", "401 200 200 200 200 200 200 200 200 200 200", mxPlain},
	{"POST /api/v1/courtyards/{id}/petitions", "401 403 403 403 403 201 403 201 403 201 403", mxCreatePetition},
	{"GET /api/v1/courtyards/{id}/petitions", "401 403 403 403 403 200 403 200 403 200 403", mxYard("/petitions")},
	{"GET /api/v1/petitions/{id}", "401 404 404 200 404 200 404 200 404 200 404", mxPetition("", "open")},
	{"POST /api/v1/petitions/{id}/publish", "401 404 404 404 404 200 404 200 404 200 404", mxPetition("/publish", "draft")},
	{"POST /api/v1/petitions/{id}/close", "401 404 404 403 404 403 404 200 404 200 404", mxPetition("/close", "open")},
	{"PUT /api/v1/petitions/{id}/cost-plan", "401 404 404 403 404 200 404 200 404 200 404", mxCostPlan},
	{"POST /api/v1/petitions/{id}/signatures", "401 403 403 201 403 403 403 403 403 403 403", mxSign},
	{"POST /api/v1/petitions/{id}/paper-signatures", "401 404 404 403 404 201 404 201 404 201 404", mxPaperSign},
	{"DELETE /api/v1/petitions/{id}/signatures/{household_id}", "401 403 403 204 403 403 403 403 403 403 403", mxWithdraw},
	{"POST /api/v1/petitions/{id}/payments", "401 404 404 403 404 403 404 201 404 201 404", mxPayment},
	{"GET /api/v1/petitions/{id}/totals", "401 404 404 200 404 200 404 200 404 200 404", mxPetition("/totals", "cost")},
	{"GET /api/v1/petitions/{id}/export.xlsx", "401 404 404 403 404 403 404 200 404 200 404", mxPetition("/export.xlsx", "open")},
	{"GET /api/v1/petitions/{id}/export.csv", "401 404 404 403 404 403 404 200 404 200 404", mxPetition("/export.csv", "open")},
	// Notices.
	{"POST /api/v1/notices", "401 403 403 403 403 201 403 201 403 201 403", mxCreateNotice},
	{"POST /api/v1/notices/preview", "401 403 403 403 403 200 403 200 403 200 403", mxPreviewNotice},
	{"GET /api/v1/courtyards/{id}/notices", "401 403 403 403 403 200 403 200 403 200 403", mxYard("/notices")},
	{"GET /api/v1/notices/{id}", "401 200 200 200 200 200 404 200 404 200 404", mxNotice("", "sent")},
	{"POST /api/v1/notices/{id}/approve", "401 404 404 404 404 403 404 200 404 200 404", mxNotice("/approve", "review")},
	{"POST /api/v1/notices/{id}/send", "401 404 404 404 404 200 404 200 404 200 404", mxNotice("/send", "draft")},
	{"GET /api/v1/notices/{id}/report", "401 404 404 404 404 200 404 200 404 200 404", mxNotice("/report", "sent")},
	{"GET /api/v1/notices/{id}/images/{key}", "401 200 200 200 200 200 404 200 404 200 404", mxNoticeImage},
	{"POST /api/v1/notices/{id}/read", "401 204 204 204 204 404 404 403 403 403 403", mxNotice("/read", "sent")},
	{"GET /api/v1/me/notices", "401 200 200 200 200 200 200 403 403 403 403", mxPlain},
	{"GET /api/v1/me/notices/unread", "401 200 200 200 200 200 200 403 403 403 403", mxPlain},
	{"GET /api/v1/me/subscriptions", "401 200 200 200 200 200 200 403 403 403 403", mxPlain},
	{"POST /api/v1/me/subscriptions", "401 200 200 200 200 200 200 403 403 403 403", mxSubscribe},
	// Counted for any WeChat user whose share info is of the courtyard's linked group, cncX too (they are in the group).
	{"POST /api/v1/notices/{id}/opens", "401 200 200 200 200 200 200 403 403 403 403", mxGroupOpen},
	// WeChat group, records, staff console.
	{"GET /api/v1/courtyards/{id}/wechat-group", "401 403 403 403 403 200 403 200 403 200 403", mxYard("/wechat-group")},
	{"POST /api/v1/courtyards/{id}/wechat-group", "401 403 403 403 403 200 403 403 403 403 403", mxGroupLink},
	{"GET /api/v1/petitions/{id}/cost-tables", "401 404 404 200 404 200 404 200 404 200 404", mxCostTables},
	{"POST /api/v1/petitions/{id}/cost-tables", "401 404 404 403 404 201 404 201 404 201 404", mxCostTables},
	{"GET /api/v1/motions/{id}/paper-trail.xlsx", "401 404 404 403 404 200 404 200 404 200 404", mxMotion("/paper-trail.xlsx", "voting")},
	{"GET /api/v1/me/courtyards", "401 200 200 200 200 200 200 200 200 200 200", mxPlain},
	{"GET /api/v1/courtyards/{id}/audit", "401 403 403 403 403 403 403 200 403 200 403", mxYard("/audit")},
	{"GET /api/v1/audit/verification", "401 403 403 403 403 403 403 403 403 200 403", mxPlain},
	{"GET /console", "301 301 301 301 301 301 301 301 301 301 301", mxPlain},
	{"GET /console/{path}", "200 200 200 200 200 200 200 200 200 200 200", mxConsole},
	// Places: other scopes' parents answer 404, callers without the role 403.
	{"GET /api/v1/me/places", "401 200 200 200 200 200 200 200 200 200 200", mxPlain},
	{"POST /api/v1/subdistricts/{id}/communities", "401 403 403 403 403 403 403 403 403 201 403", mxCreatePlace("/api/v1/subdistricts/1/communities", "社区")},
	{"PUT /api/v1/communities/{id}", "401 403 403 403 403 403 403 403 403 200 403", mxRenamePlace("community")},
	{"POST /api/v1/communities/{id}/courtyards", "401 403 403 403 403 403 403 201 404 201 403", mxCreatePlace("/api/v1/communities/1/courtyards", "小区")},
	{"PUT /api/v1/courtyards/{id}", "401 403 403 403 403 403 403 200 404 200 403", mxRenamePlace("courtyard")},
	{"GET /api/v1/courtyards/{id}/buildings", "401 403 403 403 403 200 403 200 403 200 403", mxYard("/buildings")},
	{"POST /api/v1/courtyards/{id}/buildings", "401 403 403 403 403 403 403 201 404 201 403", mxCreatePlace("/api/v1/courtyards/1/buildings", "号楼")},
	{"PUT /api/v1/buildings/{id}", "401 403 403 403 403 403 403 200 404 200 403", mxRenamePlace("building")},
	{"POST /api/v1/buildings/{id}/units", "401 403 403 403 403 403 403 201 404 201 403", mxCreatePlace("building", "单元")},
	{"PUT /api/v1/units/{id}", "401 403 403 403 403 403 403 200 404 200 403", mxRenamePlace("unit")},
	{"GET /api/v1/households/{id}/members", "401 403 403 403 404 200 404 200 404 200 404", mxMembers},
	// Councils and elections.
	{"POST /api/v1/councils", "401 403 403 403 403 403 403 201 403 201 403", mxCreateCouncil},
	{"GET /api/v1/councils/{id}", "401 200 200 200 200 200 200 200 200 200 200", mxCouncil("")},
	{"GET /api/v1/courtyards/{id}/councils", "401 200 200 200 200 200 200 200 200 200 200", mxYard("/councils")},
	{"POST /api/v1/councils/{id}/staff", "401 403 403 403 403 403 403 200 403 200 403", mxCouncilStaff(false)},
	{"DELETE /api/v1/councils/{id}/staff/{staff_id}", "401 403 403 403 403 403 403 200 403 200 403", mxCouncilStaff(true)},
	{"GET /api/v1/councils/{id}/activity", "401 403 403 403 403 403 403 200 403 200 403", mxCouncil("/activity")},
	{"GET /api/v1/communities/{id}/eligibility-criteria", "401 200 200 200 200 200 200 200 200 200 200", mxPath("/api/v1/communities/1/eligibility-criteria")},
	{"PUT /api/v1/communities/{id}/eligibility-criteria/{code}", "401 403 403 403 403 403 403 200 403 200 403", mxSwitch},
	{"POST /api/v1/councils/{id}/elections", "401 403 403 403 403 403 403 201 403 201 403", mxCreateElection},
	{"GET /api/v1/councils/{id}/elections", "401 200 200 200 200 200 200 200 200 200 200", mxCouncil("/elections")},
	{"GET /api/v1/elections/{id}", "401 200 200 200 200 200 200 200 200 200 200", mxElection("")},
	{"GET /api/v1/elections/{id}/unit", "401 403 403 403 403 403 403 200 403 200 403", mxElection("/unit")},
	// Self-nominations: a tenant, cnc (no home in courtyard 1) and cncX may not stand (400 candidate_outside_unit).
	{"POST /api/v1/elections/{id}/candidates", "401 400 201 201 201 400 400 201 403 201 403", mxNominate},
	{"POST /api/v1/elections/{id}/publish-candidates", "401 403 403 403 403 403 403 200 403 200 403", mxElection("/publish-candidates")},
	{"POST /api/v1/elections/{id}/ballot", "401 403 403 403 403 403 403 201 403 201 403", mxDrawBallot},
	// A confirmation needs a counted ballot: staff pass the check and meet 409 no_ballot.
	{"POST /api/v1/elections/{id}/confirm", "401 403 403 403 403 403 403 409 403 409 403", mxElectionBody("/confirm", map[string]any{})},
	{"GET /api/v1/candidates/{id}/checklist", "401 404 404 200 404 404 404 200 404 200 404", mxCandidate("/checklist")},
	{"PUT /api/v1/candidates/{id}/findings/{criterion}", "401 404 404 403 404 404 404 200 404 200 404", mxCandidate("/findings/cult")},
	{"POST /api/v1/candidates/{id}/appeal", "401 404 404 201 404 404 404 403 404 403 404", mxCandidate("/appeal")},
	{"POST /api/v1/candidates/{id}/appeal/decision", "401 404 404 403 404 404 404 200 404 200 404", mxCandidate("/appeal/decision")},
	// Opinions (the row's opinion is res's, not public) and surveys.
	{"POST /api/v1/courtyards/{id}/opinions", "401 201 201 201 201 403 403 403 403 403 403", mxRaise},
	{"GET /api/v1/courtyards/{id}/opinions", "401 200 200 200 200 200 403 200 403 200 403", mxYard("/opinions")},
	{"GET /api/v1/me/opinions", "401 200 200 200 200 200 200 200 200 200 200", mxPlain},
	{"GET /api/v1/opinions/{id}", "401 404 200 404 404 200 404 200 404 200 404", mxOpinion("", "")},
	{"GET /api/v1/opinions/{id}/photos/{key}", "401 404 200 404 404 200 404 200 404 200 404", mxOpinion("/photos", "")},
	{"POST /api/v1/opinions/{id}/assign", "401 404 403 404 404 200 404 200 404 200 404", mxOpinion("/assign", "")},
	{"POST /api/v1/opinions/{id}/replies", "401 404 403 404 404 201 404 201 404 201 404", mxOpinion("/replies", "")},
	{"POST /api/v1/opinions/{id}/rating", "401 404 200 404 404 403 404 403 404 403 404", mxOpinion("/rating", "resolved")},
	{"POST /api/v1/opinions/{id}/reopen", "401 404 200 404 404 403 404 403 404 403 404", mxOpinion("/reopen", "resolved")},
	{"POST /api/v1/opinions/{id}/motion-draft", "401 404 403 404 404 201 404 201 404 201 404", mxOpinion("/motion-draft", "fresh")},
	{"POST /api/v1/opinions/{id}/petition-draft", "401 404 403 404 404 201 404 201 404 201 404", mxOpinion("/petition-draft", "fresh")},
	{"POST /api/v1/councils/{id}/surveys", "401 403 403 403 403 403 403 201 403 201 403", mxOpenSurvey},
	{"GET /api/v1/councils/{id}/surveys", "401 200 200 200 200 200 403 200 403 200 403", mxCouncil("/surveys")},
	{"GET /api/v1/surveys/{id}", "401 200 200 200 200 200 404 200 404 200 404", mxSurvey("")},
	{"POST /api/v1/surveys/{id}/responses", "401 403 403 201 403 403 404 403 404 403 404", mxSurvey("/responses")},
	{"POST /api/v1/surveys/{id}/close", "401 403 403 403 403 403 404 200 404 200 404", mxSurvey("/close")},
	{"GET /api/v1/surveys/{id}/results", "401 200 200 200 200 200 404 200 404 200 404", mxSurvey("/results")},
	{"GET /api/v1/communities/{id}/survey-comparison", "401 403 403 403 403 403 403 200 403 200 403", mxPath("/api/v1/communities/1/survey-comparison")},
	// Staff accounts (issue #12 items 1 and 7). A changed password ends every
	// session of the account: a succeeding cell changes a fresh account's.
	{"POST /api/v1/me/password", "401 403 403 403 403 403 403 200 200 200 200", mxChangePassword},
	// The staff of one's scope: subdistrict admins and community staff; phone_viewer alone is not staff.
	{"GET /api/v1/staff", "401 403 403 403 403 403 403 200 200 200 403", mxPlain},
	{"POST /api/v1/staff", "401 403 403 403 403 403 403 403 403 201 403", mxCreateStaff},
}

// mxCaller is one kind of caller, logged in.
type mxCaller struct {
	name   string
	handle string // the fake WeChat's handle (WeChat users)
	token  string
	userID int64 // WeChat users
	// login makes a new session of the same caller (for logout).
	login func(t *testing.T) string
}

// mxFixture is courtyard 1 of the demo, with the callers and the objects the
// rows target.
type mxFixture struct {
	s       *e2eServer
	callers []*mxCaller
	by      map[string]*mxCaller
	staff   string // community staff of courtyard 1 (the demo's)
	admin   string
	hs      []e2eHousehold
	h1      int64 // rep's, res's and tenant's household
	h2      int64 // delegated to proxy
	next    atomic.Int64
	probeID int64 // a staff account without grants
	// assignID is a staff account that staff's and admin's staff lists
	// hold (the demo's), which they may assign to a council.
	assignID int64

	voting   int64  // a named motion, voting; rep has voted
	receipt  string // rep's receipt in it
	fileKey  string // a paper_ballot photo of courtyard 1
	petOpen  int64  // a published petition (no cost sharing)
	petCost  int64  // a published petition with cost sharing and a plan for unit 1
	noticeID int64  // a sent notice with an image
	imageKey string
	accept   int64 // a pending delegation to proxy

	council   int64  // the demo council of courtyard 1 (cnc sits on it)
	election  int64  // an election of it, nominating; rep stands (candidate)
	candidate int64  // rep's candidacy: ineligible (cult failed), appealed
	opinion   int64  // res's private opinion with a photo
	photoKey  string // its photo
	survey    int64  // an open survey of the council
}

// freeHousehold hands out households nobody in the fixture is bound to, one
// per call (bind requests, paper ballots, fresh delegations).
func (fx *mxFixture) freeHousehold(t *testing.T) e2eHousehold {
	t.Helper()
	i := int(fx.next.Add(1)) + 3
	if i >= len(fx.hs)-3 { // the last three are the bind-request, invite and decision rows'

		t.Fatalf("matrix: out of free households (%d)", len(fx.hs))
	}
	return fx.hs[i]
}

func mxAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// mxDocOps lists the operations of the served OpenAPI document.
func mxDocOps(t *testing.T, s *e2eServer) []string {
	r := s.call(t, "GET", "/openapi.yaml", "", nil)
	e2eWant(t, r, http.StatusOK)
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for p, item := range doc.Paths {
		for m := range item {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				ops = append(ops, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(ops)
	return ops
}

// mxLeaks are what no answer may carry: stack traces, Go source positions,
// SQL text and driver errors, file paths of the server.
var mxLeaks = regexp.MustCompile(`goroutine |\.go:\d|SELECT |INSERT |UPDATE |DELETE FROM|sql: |Error 1\d\d\d|/root/|/home/|/tmp/|runtime\.|panic:|gorm|sqlite`)

func TestAuthzMatrix(t *testing.T) {
	cfg := vtConfig(e2eEmbeddedConfig(t))
	s := e2eStart(t, cfg)

	// Every documented operation has its row, and every row a documented
	// operation.
	doc := mxDocOps(t, s)
	rows := map[string]mxRow{}
	for _, r := range mxRows {
		if _, dup := rows[r.op]; dup {
			t.Errorf("matrix: two rows for %s", r.op)
		}
		rows[r.op] = r
		if n := len(strings.Fields(r.want)); n != len(mxCallerNames) {
			t.Errorf("matrix: row %s has %d statuses, want %d", r.op, n, len(mxCallerNames))
		}
	}
	for _, op := range doc {
		if _, ok := rows[op]; !ok {
			t.Errorf("matrix: %s is in openapi.yaml but has no row in mxRows (server/authz_matrix_test.go): add one", op)
		}
	}
	for _, r := range mxRows {
		if !slices.Contains(doc, r.op) {
			t.Errorf("matrix: row %s is not an operation of openapi.yaml", r.op)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	mxShared = map[string]int64{}
	fx := mxSetup(t, s, cfg)
	start := time.Now()
	var cells int
	for _, row := range mxRows {
		method, path, _ := strings.Cut(row.op, " ")
		wants := strings.Fields(row.want)
		for i, c := range fx.callers {
			want := mxAtoi(wants[i])
			req := row.prep(t, fx, c, want)
			if req.path == "" {
				req.path = path
			}
			tok := c.token
			if req.token != nil {
				tok = *req.token
			}
			var r e2eResponse
			if req.header != nil {
				r = s.callWith(t, method, req.path, tok, req.body, req.header)
			} else {
				r = s.call(t, method, req.path, tok, req.body)
			}
			cells++
			mxCheckCell(t, row.op, c.name, want, r, tok != "")
			roleless := mxRoleless[c.name] && r.Status == http.StatusForbidden && mxRoleFirst[row.op]
			if (mxRefusedForWho(r) || r.Status == http.StatusNotFound && mxSeenFirst[row.op] || roleless) && req.body != nil && req.header == nil {
				// Refused for who the caller is, or for an object they
				// cannot see: refused for that whatever the body, never
				// told 400 about an empty or malformed one.
				for _, bad := range []any{map[string]any{}, []any{"not an object"}} {
					rb := s.call(t, method, req.path, tok, bad)
					cells++
					if rb.Status != r.Status || mxErrorCode(rb) != mxErrorCode(r) {
						t.Errorf("%-58s %-6s with body %v: got %s, want %d %s as with a valid body", row.op, c.name, bad, rb, r.Status, mxErrorCode(r))
					}
				}
			}
		}
	}
	t.Logf("matrix: %d cells in %v", cells, time.Since(start).Round(time.Millisecond))
}

// mxSeenFirst are the routes that answer a caller who cannot see the
// object in their path (404) before reading the body (api.seenFirst).
var mxSeenFirst = map[string]bool{
	"POST /api/v1/motions/{id}/extend": true, "POST /api/v1/motions/{id}/paper-ballots": true,
	"PUT /api/v1/petitions/{id}/cost-plan": true, "POST /api/v1/petitions/{id}/paper-signatures": true,
	"POST /api/v1/petitions/{id}/payments": true, "POST /api/v1/petitions/{id}/cost-tables": true,
	"POST /api/v1/opinions/{id}/assign": true, "POST /api/v1/opinions/{id}/replies": true,
	"POST /api/v1/opinions/{id}/rating": true, "POST /api/v1/opinions/{id}/reopen": true,
	"POST /api/v1/opinions/{id}/motion-draft": true, "POST /api/v1/opinions/{id}/petition-draft": true,
	"POST /api/v1/surveys/{id}/responses":              true,
	"PUT /api/v1/candidates/{id}/findings/{criterion}": true, "POST /api/v1/candidates/{id}/appeal": true,
	"POST /api/v1/candidates/{id}/appeal/decision": true,
	"POST /api/v1/delegations/{id}/accept":         true, "POST /api/v1/delegations/{id}/confirm": true,
}

// mxRoleFirst are the routes nobody without a role (council seat or staff
// grant) may use, which refuse such a caller before reading the body
// (api.anyRole); mxRoleless are the matrix's callers without a role.
var (
	mxRoleFirst = map[string]bool{
		"POST /api/v1/buildings/{id}/units": true, "POST /api/v1/communities/{id}/courtyards": true,
		"POST /api/v1/councils": true, "POST /api/v1/councils/{id}/elections": true,
		"POST /api/v1/councils/{id}/staff": true, "POST /api/v1/councils/{id}/surveys": true,
		"POST /api/v1/courtyards/{id}/buildings": true, "POST /api/v1/courtyards/{id}/invites": true,
		"POST /api/v1/courtyards/{id}/motions": true, "POST /api/v1/courtyards/{id}/petitions": true,
		"POST /api/v1/courtyards/{id}/wechat-group": true, "POST /api/v1/elections/{id}/ballot": true,
		"POST /api/v1/elections/{id}/confirm": true, "POST /api/v1/grants": true,
		"POST /api/v1/grants/revoke": true, "POST /api/v1/notices": true,
		"POST /api/v1/notices/preview": true, "POST /api/v1/requests/{kind}/{id}/decision": true,
		"POST /api/v1/staff": true, "POST /api/v1/subdistricts/{id}/communities": true,
		"PUT /api/v1/buildings/{id}": true, "PUT /api/v1/communities/{id}": true,
		"PUT /api/v1/communities/{id}/eligibility-criteria/{code}": true, "PUT /api/v1/courtyards/{id}": true,
		"PUT /api/v1/courtyards/{id}/settings": true, "PUT /api/v1/units/{id}": true,
	}
	mxRoleless = map[string]bool{"tenant": true, "res": true, "rep": true, "proxy": true}
)

// mxRefusedForWho tells an answer that refused the caller for who they
// are (no token, or a kind of account the route does not serve), not for
// the object or the body.
func mxRefusedForWho(r e2eResponse) bool {
	switch code := mxErrorCode(r); {
	case r.Status == http.StatusUnauthorized:
		return true
	case r.Status == http.StatusForbidden:
		return code == "users_only" || code == "staff_only"
	}
	return false
}

func mxErrorCode(r e2eResponse) string {
	var e e2eErrorBody
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// mxCheckCell holds one answer to its expected status, to the not-found
// contract, and to what no answer may carry or lack.
func mxCheckCell(t *testing.T, op, who string, want int, r e2eResponse, authenticated bool) {
	t.Helper()
	if r.Status != want {
		t.Errorf("%-58s %-6s got %d, want %d: %s", op, who, r.Status, want, r)
	}
	if r.Status == http.StatusNotFound {
		var e e2eErrorBody
		_ = json.Unmarshal(r.Body, &e)
		if !strings.HasSuffix(e.Error.Code, "_not_found") && e.Error.Code != "invite_code_unknown" {
			t.Errorf("%s %s: a 404 must carry a *_not_found code: %s", op, who, r)
		}
	}
	if m := mxLeaks.FindString(string(r.Body)); m != "" && r.Header.Get("Content-Type") != "application/yaml; charset=utf-8" &&
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/vnd.openxml") {
		t.Errorf("%s %s: the answer carries %q: %s", op, who, m, r)
	}
	h := r.Header
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s %s: X-Content-Type-Options %q, want nosniff", op, who, h.Get("X-Content-Type-Options"))
	}
	if h.Get("Server") != "" || h.Get("X-Powered-By") != "" {
		t.Errorf("%s %s: the answer names its server: %q %q", op, who, h.Get("Server"), h.Get("X-Powered-By"))
	}
	if ct := h.Get("Content-Type"); len(r.Body) > 0 && strings.HasPrefix(strings.TrimSpace(string(r.Body)), "{") && ct != "application/json; charset=utf-8" {
		t.Errorf("%s %s: JSON answered as %q", op, who, ct)
	}
	if authenticated && !strings.Contains(h.Get("Cache-Control"), "no-store") && !strings.Contains(h.Get("Cache-Control"), "private") {
		t.Errorf("%s %s: an authenticated answer with Cache-Control %q (want no-store)", op, who, h.Get("Cache-Control"))
	}
}

// ---- setup -----------------------------------------------------------------

func mxSetup(t *testing.T, s *e2eServer, cfg *Config) *mxFixture {
	t.Helper()
	fx := &mxFixture{s: s, by: map[string]*mxCaller{}}
	e2eRunEnv(t, cfg, true)
	t.Setenv("LOUYUAN_ADMIN_PASSWORD", "matrix-password")
	admin := func(args ...string) string {
		out, err := e2eRun(args...)
		if err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
		return out
	}
	staffID := func(out string) int64 {
		var id int64
		fmt.Sscanf(out, "staff account %d", &id)
		return id
	}
	// Courtyard 2 in community 2 of the same subdistrict.
	admin("admin", "add-courtyard", "-subdistrict", "新华路街道", "-community", "东风社区", "-courtyard", "纺织厂小区")
	admin("admin", "create-staff", "-username", "mxstaffx", "-name", "东风社区网格员", "-role", "community_staff", "-scope", "2")
	admin("admin", "create-staff", "-username", "mxadmin", "-name", "街道管理员", "-role", "subdistrict_admin", "-scope", "1")
	phoneID := staffID(admin("admin", "create-staff", "-username", "mxphone", "-name", "手机号查看员"))
	admin("admin", "grant", "-staff", fmt.Sprint(phoneID), "-role", "phone_viewer", "-scope", "1")
	fx.probeID = staffID(admin("admin", "create-staff", "-username", "mxprobe", "-name", "测试账号"))

	fx.staff = s.staffLogin(t, demoStaffUser, demoStaffPassword).AccessToken
	fx.assignID = e2eStaffID(t, e2eListStaff(t, s, fx.staff, "?q="+demoStaffUser), demoStaffUser)
	fx.hs = s.courtyardHouseholds(t, fx.staff, 1)
	invites := e2eDemoInvites(t, s.cfg.DataDir)
	house := func(i int) int64 {
		h, found := e2eFind(fx.hs, invites[i].Building, invites[i].Unit, invites[i].Room)
		if !found {
			t.Fatalf("no household for invite %d", i)
		}
		return h.ID
	}
	fx.h1, fx.h2 = house(0), house(1)
	h3 := house(2)
	// Free households: those past the first three, in list order.
	var free []e2eHousehold
	for _, h := range fx.hs {
		if h.ID != fx.h1 && h.ID != fx.h2 && h.ID != h3 {
			free = append(free, h)
		}
	}
	fx.hs = append([]e2eHousehold{{}, {}, {}, {}}, free...)

	wechat := func(handle string) *mxCaller {
		c := &mxCaller{name: handle, handle: handle}
		tok := s.wechatLogin(t, e2eCode(handle))
		c.token, c.userID = tok.AccessToken, tok.User.ID
		c.login = func(t *testing.T) string { return s.wechatLogin(t, e2eCode(handle)).AccessToken }
		return c
	}
	staff := func(username, password string) *mxCaller {
		c := &mxCaller{name: username}
		c.token = s.staffLogin(t, username, password).AccessToken
		c.login = func(t *testing.T) string { return s.staffLogin(t, username, password).AccessToken }
		return c
	}
	bind := func(c *mxCaller, code string) {
		e2eWant(t, s.call(t, "POST", "/api/v1/me/households", c.token, map[string]string{"invite_code": code}), http.StatusCreated)
	}
	invite := func(h int64, role string) string {
		r := s.call(t, "POST", "/api/v1/courtyards/1/invites?format=json", fx.staff, map[string]any{"household_ids": []int64{h}, "role": role})
		e2eWant(t, r, http.StatusCreated)
		return e2eInviteCodes(t, r)[0]
	}
	// Room for the fixture's delegations.
	e2eWant(t, s.call(t, "PUT", "/api/v1/courtyards/1/settings", fx.staff, map[string]any{"max_delegations_per_proxy": 20, "proxy_photo_required": true}), http.StatusOK)

	rep := wechat("mxrep")
	bind(rep, invites[0].Code)
	rep2 := wechat("mxrep2")
	bind(rep2, invites[1].Code)
	rep3 := wechat("mxrep3")
	bind(rep3, invites[2].Code)
	tenant := wechat("mxtenant")
	bind(tenant, invite(fx.h1, "tenant"))
	res := wechat("mxres")
	bind(res, invite(fx.h1, "family"))
	proxy := wechat("mxproxy")
	bind(proxy, invite(h3, "family"))
	// rep2 hands every motion of the courtyard to proxy for a month.
	r := s.call(t, "POST", "/api/v1/delegations", rep2.token, map[string]any{"household_id": fx.h2, "proxy_user_id": proxy.userID, "until": time.Now().AddDate(0, 1, 0)})
	e2eWant(t, r, http.StatusCreated)
	var d struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &d)
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/accept", d.ID), proxy.token, map[string]any{"accept": true}), http.StatusOK)
	// The courtyard wants the signed authorisation: staff confirm with its photo.
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/confirm", d.ID), fx.staff,
		map[string]any{"photo": mxUploadKey(t, fx, fx.staff, "proxy_authorisation")}), http.StatusOK)
	// rep3 asks proxy too; proxy has not answered yet.
	r = s.call(t, "POST", "/api/v1/delegations", rep3.token, map[string]any{"household_id": h3, "proxy_user_id": proxy.userID, "until": time.Now().AddDate(0, 1, 0)})
	e2eWant(t, r, http.StatusCreated)
	r.decode(t, &d)
	fx.accept = d.ID

	cncX := wechat("mxcouncilx")
	admin("admin", "council-member", "-user", fmt.Sprint(cncX.userID), "-courtyard", "2", "-seat", "member")
	cnc := wechat("lishi") // the demo's council member of courtyard 1
	cncX = wechat("mxcouncilx")

	fx.admin = s.staffLogin(t, "mxadmin", "matrix-password").AccessToken
	fx.callers = []*mxCaller{{name: "anon", login: func(*testing.T) string { return "" }}, tenant, res, rep, proxy, cnc, cncX,
		staff(demoStaffUser, demoStaffPassword), staff("mxstaffx", "matrix-password"), staff("mxadmin", "matrix-password"), staff("mxphone", "matrix-password")}
	for i, c := range fx.callers {
		c.name = mxCallerNames[i]
		fx.by[c.name] = c
	}

	// Objects.
	fx.voting = mxOpenMotions(t, fx, 1)[0]
	r = s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/ballots", fx.voting), rep.token, map[string]any{"household_id": fx.h1, "options": []string{"agree"}})
	e2eWant(t, r, http.StatusCreated)
	fx.receipt = e2eReceiptOf(t, r)
	fx.fileKey = mxUploadKey(t, fx, fx.staff, "paper_ballot")
	fx.petOpen = mxPetitions(t, fx, "open", 1)[0]
	fx.petCost = mxPetitions(t, fx, "cost", 1)[0]
	fx.imageKey = mxUploadKey(t, fx, fx.staff, "notice_image")
	fx.noticeID = mxNotices(t, fx, "sent", 1, fx.imageKey)[0]
	mxSetupCouncil(t, fx)
	return fx
}

// e2eReceiptOf reads a ballot's receipt code.
func e2eReceiptOf(t *testing.T, r e2eResponse) string {
	t.Helper()
	var rc struct {
		Receipt string `json:"receipt"`
		Code    string `json:"code"`
	}
	r.decode(t, &rc)
	if rc.Receipt != "" {
		return rc.Receipt
	}
	if rc.Code == "" {
		t.Fatalf("no receipt in %s", r)
	}
	return rc.Code
}

var mxSeq atomic.Int64

func mxPNG() []byte {
	var b bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 40, 30))
	// Each image different, so that no two uploads are one file.
	n := mxSeq.Add(1)
	img.Pix[0], img.Pix[1], img.Pix[2] = byte(n), byte(n>>8), byte(n>>16)
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// mxUploadBody is a multipart upload of a small PNG for courtyard 1.
func mxUploadBody(purpose string, households ...int64) ([]byte, http.Header) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("purpose", purpose)
	_ = w.WriteField("courtyard_id", "1")
	for _, h := range households {
		_ = w.WriteField("household_ids", fmt.Sprint(h))
	}
	fw, _ := w.CreateFormFile("file", "photo.png")
	_, _ = fw.Write(mxPNG())
	_ = w.Close()
	return body.Bytes(), http.Header{"Content-Type": {w.FormDataContentType()}}
}

func mxUploadKey(t *testing.T, fx *mxFixture, token, purpose string) string {
	t.Helper()
	b, h := mxUploadBody(purpose)
	r := fx.s.callWith(t, "POST", "/api/v1/files", token, b, h)
	e2eWant(t, r, http.StatusCreated)
	var m struct {
		Key string `json:"key"`
	}
	r.decode(t, &m)
	return m.Key
}

func mxID(t *testing.T, r e2eResponse) int64 {
	t.Helper()
	var v struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &v)
	if v.ID == 0 {
		t.Fatalf("no id in %s", r)
	}
	return v.ID
}

// mxMotionBody is a valid new motion, unique by its subject.
func mxMotionBody(opens time.Time) map[string]any {
	n := mxSeq.Add(1)
	return map[string]any{"scope_type": "courtyard", "title": fmt.Sprintf("矩阵测试表决%d", n), "subject": fmt.Sprintf("矩阵事项%d", n),
		"rule": "ordinary", "ballot_mode": "named", "notice_days": 0, "objection_days": 0, "opens_at": opens, "closes_at": opens.Add(time.Hour)}
}

// mxMotions makes n motions of courtyard 1 in a state: draft, ready
// (published, its opening time passed), voting, closable (voting, its
// closing time passed) or closed.
func mxMotions(t *testing.T, fx *mxFixture, state string, n int) []int64 {
	t.Helper()
	s := fx.s
	opens := time.Now().Add(1200 * time.Millisecond)
	var ids []int64
	for range n {
		body := mxMotionBody(opens)
		if state == "closable" || state == "closed" {
			body["closes_at"] = opens.Add(500 * time.Millisecond)
		}
		r := s.call(t, "POST", "/api/v1/courtyards/1/motions", fx.staff, body)
		e2eWant(t, r, http.StatusCreated)
		ids = append(ids, mxID(t, r))
	}
	if state == "draft" {
		return ids
	}
	for _, id := range ids {
		e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/publish", id), fx.staff, nil), http.StatusOK)
	}
	time.Sleep(time.Until(opens) + 50*time.Millisecond)
	if state == "ready" {
		return ids
	}
	for _, id := range ids {
		e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/open", id), fx.staff, nil), http.StatusOK)
	}
	if state == "voting" {
		return ids
	}
	time.Sleep(time.Until(opens.Add(550 * time.Millisecond)))
	if state == "closable" {
		return ids
	}
	for _, id := range ids {
		e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/close", id), fx.staff, nil), http.StatusOK)
	}
	return ids
}

func mxOpenMotions(t *testing.T, fx *mxFixture, n int) []int64 { return mxMotions(t, fx, "voting", n) }

// mxPetitions makes n petitions of courtyard 1: draft, open, or cost (open,
// with cost sharing and a plan for unit 1).
func mxPetitions(t *testing.T, fx *mxFixture, state string, n int) []int64 {
	t.Helper()
	var ids []int64
	for range n {
		body := map[string]any{"scope_type": "courtyard", "title": fmt.Sprintf("矩阵征求%d", mxSeq.Add(1)), "body": "为方便老人上下楼，拟加装电梯。",
			"deadline": time.Now().Add(24 * time.Hour), "target_households": "2/3", "cost_sharing": state == "cost"}
		r := fx.s.call(t, "POST", "/api/v1/courtyards/1/petitions", fx.staff, body)
		e2eWant(t, r, http.StatusCreated)
		id := mxID(t, r)
		ids = append(ids, id)
		if state == "cost" {
			e2eWant(t, fx.s.call(t, "PUT", fmt.Sprintf("/api/v1/petitions/%d/cost-plan", id), fx.staff, mxCostPlanBody()), http.StatusOK)
		}
		if state != "draft" {
			e2eWant(t, fx.s.call(t, "POST", fmt.Sprintf("/api/v1/petitions/%d/publish", id), fx.staff, nil), http.StatusOK)
		}
	}
	return ids
}

func mxCostPlanBody() map[string]any {
	coef := map[string]int64{}
	for f := 1; f <= 7; f++ {
		coef[fmt.Sprint(f)] = int64(f * 100)
	}
	return map[string]any{"unit_id": 1, "total_fen": 30000000, "coefficients": coef}
}

// mxNotices makes n notices to courtyard 1: draft, review (held for staff)
// or sent.
func mxNotices(t *testing.T, fx *mxFixture, state string, n int, images ...string) []int64 {
	t.Helper()
	title := "本周六停水通知"
	if state == "review" {
		title = "矩阵待审通知"
		ntFake(t).SetReviewWords("矩阵待审")
	}
	var ids []int64
	for range n {
		body := map[string]any{"targets": []map[string]any{{"scope_type": "courtyard", "scope_id": 1}}, "title": title, "body": "因管道检修，本周六8:00至12:00停水。"}
		if len(images) > 0 {
			body["images"] = images
		}
		r := fx.s.call(t, "POST", "/api/v1/notices", fx.staff, body)
		e2eWant(t, r, http.StatusCreated)
		id := mxID(t, r)
		ids = append(ids, id)
		if state == "sent" {
			e2eWant(t, fx.s.call(t, "POST", fmt.Sprintf("/api/v1/notices/%d/send", id), fx.staff, nil), http.StatusOK)
		}
	}
	return ids
}

// ---- row preparations ------------------------------------------------------

func mxPlain(*testing.T, *mxFixture, *mxCaller, int) mxReq { return mxReq{} }

func mxSuccess(want int) bool { return want >= 200 && want < 300 }

func mxWeChatLogin(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return mxReq{body: map[string]string{"code": e2eCode("mxlogin")}}
}

func mxStaffLogin(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return mxReq{body: map[string]string{"username": "mxprobe", "password": "matrix-password"}}
}

func mxRefresh(t *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	tok := fx.s.wechatLogin(t, e2eCode("mxrefresh"))
	return mxReq{body: map[string]string{"refresh_token": tok.RefreshToken}}
}

func mxLogout(t *testing.T, _ *mxFixture, c *mxCaller, _ int) mxReq {
	tok := c.login(t) // a session of its own: the caller's stays for the rows after
	return mxReq{body: map[string]any{}, token: &tok}
}

func mxPhone(_ *testing.T, _ *mxFixture, c *mxCaller, _ int) mxReq {
	return mxReq{body: map[string]string{"code": e2eCode("mx" + c.name)}}
}

func mxBindUnknown(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return mxReq{body: map[string]string{"invite_code": "ACDE-FGHJ"}}
}

func mxBindRequest(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	// One household for every cell: each caller asks once.
	return mxReq{path: fmt.Sprintf("/api/v1/households/%d/bind-requests", fx.hs[len(fx.hs)-1].ID), body: map[string]any{"role": "family", "real_name": "张小明"}}
}

func mxLookup(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	h := fx.hs[len(fx.hs)-1]
	return mxReq{path: "/api/v1/household-lookup?" + url.Values{"courtyard": {"铝厂小区"}, "building": {h.Building}, "unit": {h.Unit}, "room": {h.Room}}.Encode()}
}

func mxRepRequest(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
	if mxSuccess(want) {
		mxRejectPending(t, fx, "representative")
	}
	return mxReq{path: fmt.Sprintf("/api/v1/households/%d/representative-requests", fx.h1), body: map[string]any{"candidate_user_id": fx.by["res"].userID}}
}

// mxRejectPending rejects courtyard 1's pending requests of a kind.
func mxRejectPending(t *testing.T, fx *mxFixture, kind string) {
	t.Helper()
	r := fx.s.call(t, "GET", "/api/v1/courtyards/1/requests", fx.staff, nil)
	e2eWant(t, r, http.StatusOK)
	var list struct {
		Requests []e2eRequest `json:"requests"`
	}
	r.decode(t, &list)
	for _, q := range list.Requests {
		if q.Kind == kind {
			e2eWant(t, fx.s.call(t, "POST", fmt.Sprintf("/api/v1/requests/%s/%d/decision", kind, q.ID), fx.staff, map[string]any{"approve": false}), http.StatusOK)
		}
	}
}

func mxUnbind(t *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	// A fresh family member of H1 for each cell.
	r := fx.s.call(t, "POST", "/api/v1/courtyards/1/invites?format=json", fx.staff, map[string]any{"household_ids": []int64{fx.h1}, "role": "family"})
	e2eWant(t, r, http.StatusCreated)
	victim := fx.s.wechatLogin(t, e2eCode(fmt.Sprintf("mxvictim%d", mxSeq.Add(1))))
	e2eWant(t, fx.s.call(t, "POST", "/api/v1/me/households", victim.AccessToken, map[string]string{"invite_code": e2eInviteCodes(t, r)[0]}), http.StatusCreated)
	return mxReq{path: fmt.Sprintf("/api/v1/households/%d/members/%d", fx.h1, victim.User.ID)}
}

func mxYard(suffix string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
		return mxReq{path: "/api/v1/courtyards/1" + suffix}
	}
}

func mxRoster(t *testing.T, _ *mxFixture, _ *mxCaller, _ int) mxReq {
	// One row as it already stands: nothing changes.
	data := e2eXLSX(t, [][]any{e2eRosterHeader, {"1号楼", "1单元", "201", 2, "62.35", "张建国"}})
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fw, _ := w.CreateFormFile("file", "roster.xlsx")
	_, _ = fw.Write(data)
	_ = w.Close()
	return mxReq{path: "/api/v1/courtyards/1/roster", body: body.Bytes(), header: http.Header{"Content-Type": {w.FormDataContentType()}}}
}

func mxInvites(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	// New codes revoke the household's unused ones: one household will do.
	return mxReq{path: "/api/v1/courtyards/1/invites?format=json", body: map[string]any{"household_ids": []int64{fx.hs[len(fx.hs)-2].ID}, "role": "family"}}
}

func mxSettings(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return mxReq{path: "/api/v1/courtyards/1/settings", body: map[string]any{"max_delegations_per_proxy": 20, "proxy_photo_required": true}}
}

func mxDecision(t *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	h := fx.hs[len(fx.hs)-3]
	asker := fx.s.wechatLogin(t, e2eCode(fmt.Sprintf("mxasker%d", mxSeq.Add(1))))
	r := fx.s.call(t, "POST", fmt.Sprintf("/api/v1/households/%d/bind-requests", h.ID), asker.AccessToken, map[string]any{"role": "family", "real_name": "赵小明"})
	e2eWant(t, r, http.StatusCreated)
	return mxReq{path: fmt.Sprintf("/api/v1/requests/bind/%d/decision", mxID(t, r)), body: map[string]any{"approve": false, "reason": "不是本户家庭成员"}}
}

func mxGrant(revoke bool) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
		g := map[string]any{"principal_type": "staff", "principal_id": fx.probeID, "role": "community_staff", "scope_type": "community", "scope_id": 1}
		if revoke {
			e2eWant(t, fx.s.call(t, "POST", "/api/v1/grants", fx.admin, g), http.StatusNoContent)
			return mxReq{path: "/api/v1/grants/revoke", body: g}
		}
		if mxSuccess(want) {
			if r := fx.s.call(t, "POST", "/api/v1/grants/revoke", fx.admin, g); r.Status != http.StatusNoContent && r.Status != http.StatusNotFound {
				t.Fatalf("revoke before grant: %s", r)
			}
		}
		return mxReq{path: "/api/v1/grants", body: g}
	}
}

// mxStaffSeq numbers the staff accounts the rows make.
var mxStaffSeq atomic.Int64

// mxNewStaff makes a community staff account of community 1 with the
// subdistrict admin's token and returns its username and initial password.
func mxNewStaff(t *testing.T, fx *mxFixture) (string, string) {
	t.Helper()
	name := fmt.Sprintf("mxnew%d", mxStaffSeq.Add(1))
	made := e2eCreateStaff(t, fx.s, fx.admin, map[string]any{"username": name, "display_name": "新网格员", "role": "community_staff", "scope_type": "community", "scope_id": 1})
	return name, made.InitialPassword
}

func mxChangePassword(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
	if !mxSuccess(want) {
		return mxReq{body: map[string]string{"old_password": "matrix-password", "new_password": "another-password"}}
	}
	name, password := mxNewStaff(t, fx)
	tok := fx.s.staffLogin(t, name, password).AccessToken
	return mxReq{body: map[string]string{"old_password": password, "new_password": "another-password"}, token: &tok}
}

func mxCreateStaff(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{body: map[string]any{"username": fmt.Sprintf("mxmade%d", mxStaffSeq.Add(1)), "display_name": "新网格员",
		"role": "community_staff", "scope_type": "community", "scope_id": 1}}
}

func mxUpload(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	b, h := mxUploadBody("paper_ballot")
	return mxReq{body: b, header: h}
}

func mxDownload(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{path: "/api/v1/files/" + fx.fileKey}
}

func mxCreateMotion(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return mxReq{path: "/api/v1/courtyards/1/motions", body: mxMotionBody(time.Now().Add(time.Hour))}
}

// mxShared keeps the one object per row and state that failing cells share.
var mxShared map[string]int64

func mxMotion(suffix, state string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
		var id int64
		switch {
		case state == "voting":
			id = fx.voting
		case mxSuccess(want):
			id = mxMotions(t, fx, state, 1)[0]
		default:
			key := "motion" + suffix
			if mxShared[key] == 0 {
				mxShared[key] = mxMotions(t, fx, state, 1)[0]
			}
			id = mxShared[key]
		}
		return mxReq{path: fmt.Sprintf("/api/v1/motions/%d%s", id, suffix)}
	}
}

var mxExtendBy atomic.Int64

func mxExtend(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	// Each cell a later close, so that a success leaves the next one valid.
	closes := time.Now().Add(time.Duration(48+mxExtendBy.Add(1)) * time.Hour)
	return mxReq{path: fmt.Sprintf("/api/v1/motions/%d/extend", fx.voting), body: map[string]any{"closes_at": closes}}
}

func mxBallot(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{path: fmt.Sprintf("/api/v1/motions/%d/ballots", fx.voting), body: map[string]any{"household_id": fx.h1, "options": []string{"agree"}}}
}

func mxProxyBallot(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{path: fmt.Sprintf("/api/v1/motions/%d/proxy-ballots", fx.voting), body: map[string]any{"household_ids": []int64{fx.h2}, "options": []string{"agree"}}}
}

func mxPaperBallot(t *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	h := fx.freeHousehold(t)
	photo := mxUploadKey(t, fx, fx.staff, "paper_ballot")
	return mxReq{path: fmt.Sprintf("/api/v1/motions/%d/paper-ballots", fx.voting), body: map[string]any{"household_id": h.ID, "options": []string{"agree"}, "photo": photo}}
}

func mxReceipt(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{path: "/api/v1/receipts/" + fx.receipt}
}

func mxDelegate(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{body: map[string]any{"household_id": fx.h1, "proxy_user_id": fx.by["res"].userID, "until": time.Now().AddDate(0, 0, 10)}}
}

func mxAccept(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{path: fmt.Sprintf("/api/v1/delegations/%d/accept", fx.accept), body: map[string]any{"accept": true}}
}

// mxFreshDelegation: a new household's representative delegates to proxy;
// accepted when accept.
func mxFreshDelegation(t *testing.T, fx *mxFixture, accept bool) int64 {
	t.Helper()
	s := fx.s
	h := fx.freeHousehold(t)
	r := s.call(t, "POST", "/api/v1/courtyards/1/invites?format=json", fx.staff, map[string]any{"household_ids": []int64{h.ID}, "role": "owner"})
	e2eWant(t, r, http.StatusCreated)
	owner := s.wechatLogin(t, e2eCode(fmt.Sprintf("mxowner%d", mxSeq.Add(1))))
	e2eWant(t, s.call(t, "POST", "/api/v1/me/households", owner.AccessToken, map[string]string{"invite_code": e2eInviteCodes(t, r)[0]}), http.StatusCreated)
	r = s.call(t, "POST", "/api/v1/delegations", owner.AccessToken, map[string]any{"household_id": h.ID, "proxy_user_id": fx.by["proxy"].userID, "until": time.Now().AddDate(0, 0, 10)})
	e2eWant(t, r, http.StatusCreated)
	id := mxID(t, r)
	if accept {
		e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/accept", id), fx.by["proxy"].token, map[string]any{"accept": true}), http.StatusOK)
	}
	return id
}

func mxConfirm(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
	var id int64
	if mxSuccess(want) {
		id = mxFreshDelegation(t, fx, true)
	} else {
		if mxShared["confirm"] == 0 {
			mxShared["confirm"] = mxFreshDelegation(t, fx, true)
		}
		id = mxShared["confirm"]
	}
	photo := mxUploadKey(t, fx, fx.staff, "proxy_authorisation")
	return mxReq{path: fmt.Sprintf("/api/v1/delegations/%d/confirm", id), body: map[string]any{"photo": photo}}
}

func mxRevoke(t *testing.T, fx *mxFixture, c *mxCaller, want int) mxReq {
	var id int64
	switch {
	case c.name == "rep":
		// rep's own household's delegation (made by the row before, or now).
		r := fx.s.call(t, "POST", "/api/v1/delegations", c.token, map[string]any{"household_id": fx.h1, "proxy_user_id": fx.by["res"].userID, "until": time.Now().AddDate(0, 0, 10)})
		if r.Status == http.StatusCreated {
			id = mxID(t, r)
		} else {
			r = fx.s.call(t, "GET", "/api/v1/me/delegations", c.token, nil)
			var mine struct {
				Given []struct {
					ID     int64  `json:"id"`
					Status string `json:"status"`
				} `json:"given"`
			}
			r.decode(t, &mine)
			for _, d := range mine.Given {
				if d.Status == "pending" || d.Status == "accepted" || d.Status == "active" {
					id = d.ID
				}
			}
		}
	case mxSuccess(want):
		id = mxFreshDelegation(t, fx, false)
	default:
		if mxShared["revoke"] == 0 {
			mxShared["revoke"] = mxFreshDelegation(t, fx, false)
		}
		id = mxShared["revoke"]
	}
	return mxReq{path: fmt.Sprintf("/api/v1/delegations/%d/revoke", id)}
}

func mxCreatePetition(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return mxReq{path: "/api/v1/courtyards/1/petitions", body: map[string]any{"scope_type": "courtyard", "title": "矩阵征求意见", "body": "拟加装电梯。",
		"deadline": time.Now().Add(24 * time.Hour), "target_households": "2/3"}}
}

func mxPetition(suffix, state string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
		var id int64
		switch {
		case state == "cost":
			id = fx.petCost
		case state == "open" && suffix != "/close":
			id = fx.petOpen
		case mxSuccess(want):
			id = mxPetitions(t, fx, state, 1)[0]
		default:
			key := "petition" + suffix
			if mxShared[key] == 0 {
				mxShared[key] = mxPetitions(t, fx, state, 1)[0]
			}
			id = mxShared[key]
		}
		return mxReq{path: fmt.Sprintf("/api/v1/petitions/%d%s", id, suffix)}
	}
}

func mxCostPlan(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{path: fmt.Sprintf("/api/v1/petitions/%d/cost-plan", fx.petCost), body: mxCostPlanBody()}
}

func mxSign(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{path: fmt.Sprintf("/api/v1/petitions/%d/signatures", fx.petOpen), body: map[string]any{"household_id": fx.h1, "real_name": "王春芬"}}
}

func mxPaperSign(t *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	h := fx.freeHousehold(t)
	photo := mxUploadKey(t, fx, fx.staff, "paper_ballot")
	return mxReq{path: fmt.Sprintf("/api/v1/petitions/%d/paper-signatures", fx.petOpen), body: map[string]any{"household_id": h.ID, "real_name": "纸质签名", "photo": photo}}
}

func mxWithdraw(t *testing.T, fx *mxFixture, c *mxCaller, want int) mxReq {
	if mxSuccess(want) {
		// Signed again before each withdrawal that should go through.
		r := fx.s.call(t, "POST", fmt.Sprintf("/api/v1/petitions/%d/signatures", fx.petOpen), fx.by["rep"].token, map[string]any{"household_id": fx.h1, "real_name": "王春芬"})
		if r.Status != http.StatusCreated && r.Status != http.StatusConflict {
			t.Fatalf("re-sign before withdrawal: %s", r)
		}
	}
	return mxReq{path: fmt.Sprintf("/api/v1/petitions/%d/signatures/%d", fx.petOpen, fx.h1)}
}

func mxPayment(t *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	// A household of unit 1 (1号楼1单元): the plan's unit.
	var h int64
	for _, x := range fx.hs {
		if x.Building == "1号楼" && x.Unit == "1单元" {
			h = x.ID
			break
		}
	}
	return mxReq{path: fmt.Sprintf("/api/v1/petitions/%d/payments", fx.petCost), body: map[string]any{"household_id": h, "amount_fen": 100,
		"receipt_no": fmt.Sprintf("R%d", mxSeq.Add(1)), "paid_on": time.Now().In(louyuan.China).Format("2006-01-02")}}
}

func mxNoticeBody() map[string]any {
	return map[string]any{"targets": []map[string]any{{"scope_type": "courtyard", "scope_id": 1}}, "title": "矩阵通知", "body": "本周六停水。"}
}

func mxCreateNotice(*testing.T, *mxFixture, *mxCaller, int) mxReq { return mxReq{body: mxNoticeBody()} }

func mxPreviewNotice(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return mxReq{body: map[string]any{"targets": []map[string]any{{"scope_type": "courtyard", "scope_id": 1}}}}
}

func mxNotice(suffix, state string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
		var id int64
		switch {
		case state == "sent":
			id = fx.noticeID
		case mxSuccess(want):
			id = mxNotices(t, fx, state, 1)[0]
		default:
			key := "notice" + suffix
			if mxShared[key] == 0 {
				mxShared[key] = mxNotices(t, fx, state, 1)[0]
			}
			id = mxShared[key]
		}
		return mxReq{path: fmt.Sprintf("/api/v1/notices/%d%s", id, suffix)}
	}
}

func mxNoticeImage(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{path: fmt.Sprintf("/api/v1/notices/%d/images/%s", fx.noticeID, fx.imageKey)}
}

func mxSubscribe(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return mxReq{body: map[string]any{"results": map[string]string{"demo-notice": "accept"}}}
}

// ---- councils, elections, opinions, surveys, sharing, records ---------------

func mxPath(path string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(*testing.T, *mxFixture, *mxCaller, int) mxReq { return mxReq{path: path} }
}

// mxConsole: the console's files are public, fetched by a browser without a
// bearer token (and cached as such).
func mxConsole(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	none := ""
	return mxReq{path: "/console/", token: &none}
}

const mxGroup = "铝厂小区业主群"

// mxShareInfo is what wx.getShareInfo gives c for a card from the
// courtyard's group, sealed with the session key of a new login of c (whose
// token it returns); staff have no WeChat session: any share info.
func mxShareInfo(t *testing.T, c *mxCaller) (map[string]string, *string) {
	t.Helper()
	tok := c.login(t)
	if c.handle == "" {
		return map[string]string{"encrypted_data": "bm90IGl0", "iv": "AAAAAAAAAAAAAAAAAAAAAA=="}, &tok
	}
	fake := ntFake(t)
	enc, iv, err := fake.ShareInfo(fake.User(c.handle).OpenID, fake.GroupID(mxGroup))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"encrypted_data": enc, "iv": iv}, &tok
}

func mxGroupLink(t *testing.T, _ *mxFixture, c *mxCaller, _ int) mxReq {
	body, tok := mxShareInfo(t, c)
	return mxReq{path: "/api/v1/courtyards/1/wechat-group", body: body, token: tok}
}

func mxGroupOpen(t *testing.T, fx *mxFixture, c *mxCaller, _ int) mxReq {
	body, tok := mxShareInfo(t, c)
	return mxReq{path: fmt.Sprintf("/api/v1/notices/%d/opens", fx.noticeID), body: body, token: tok}
}

func mxCostTables(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
	if want == http.StatusCreated { // a new version needs a roster edit: 1-1-201 grows
		req := mxRoster(t, fx, nil, want)
		data := e2eXLSX(t, [][]any{e2eRosterHeader, {"1号楼", "1单元", "201", 2, fmt.Sprintf("%.2f", 62.35+float64(mxSeq.Add(1))/100), "张建国"}})
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		fw, _ := w.CreateFormFile("file", "roster.xlsx")
		_, _ = fw.Write(data)
		_ = w.Close()
		req.body, req.header = body.Bytes(), http.Header{"Content-Type": {w.FormDataContentType()}}
		e2eWant(t, fx.s.callWith(t, "POST", req.path, fx.staff, req.body, req.header), http.StatusOK)
	}
	return mxReq{path: fmt.Sprintf("/api/v1/petitions/%d/cost-tables?unit_id=1", fx.petCost), body: map[string]any{"unit_id": 1}}
}

func mxTerm() (string, string) {
	now := time.Now().In(louyuan.China)
	return now.Format(time.DateOnly), now.AddDate(3, 0, -1).Format(time.DateOnly)
}

func mxCouncilBody() map[string]any {
	from, to := mxTerm()
	return map[string]any{"name": fmt.Sprintf("矩阵理事会%d", mxSeq.Add(1)), "courtyard_ids": []int64{1}, "term_starts_on": from, "term_ends_on": to}
}

func mxCreateCouncil(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return mxReq{path: "/api/v1/councils", body: mxCouncilBody()}
}

func mxCouncil(suffix string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
		return mxReq{path: fmt.Sprintf("/api/v1/councils/%d%s", fx.council, suffix)}
	}
}

func mxCouncilStaff(remove bool) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
		id := fx.council
		if mxSuccess(want) { // a council of its own: the quota and the assignment are per council
			r := fx.s.call(t, "POST", "/api/v1/councils", fx.staff, mxCouncilBody())
			e2eWant(t, r, http.StatusCreated)
			id = mxID(t, r)
		}
		body := map[string]any{"staff_id": fx.assignID, "role": "cadre"}
		path := fmt.Sprintf("/api/v1/councils/%d/staff", id)
		if !remove {
			return mxReq{path: path, body: body}
		}
		if mxSuccess(want) {
			e2eWant(t, fx.s.call(t, "POST", path, fx.staff, body), http.StatusOK)
		}
		return mxReq{path: fmt.Sprintf("%s/%d", path, fx.assignID)}
	}
}

func mxSwitch(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return mxReq{path: "/api/v1/communities/1/eligibility-criteria/" + "owes_fees", body: map[string]any{"enabled": false}}
}

func mxElectionBody2() map[string]any {
	from, to := mxTerm()
	return map[string]any{"courtyard_id": 1, "scope_type": "courtyard", "title": fmt.Sprintf("矩阵选举%d", mxSeq.Add(1)), "seats": 1,
		"term_starts_on": from, "term_ends_on": to}
}

func mxCreateElection(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{path: fmt.Sprintf("/api/v1/councils/%d/elections", fx.council), body: mxElectionBody2()}
}

// mxElections makes an election of the council for one seat: nominating,
// ready (one eligible candidate, res, nominated by the community) or
// published.
func mxElections(t *testing.T, fx *mxFixture, state string) int64 {
	t.Helper()
	s := fx.s
	r := s.call(t, "POST", fmt.Sprintf("/api/v1/councils/%d/elections", fx.council), fx.staff, mxElectionBody2())
	e2eWant(t, r, http.StatusCreated)
	id := mxID(t, r)
	if state == "nominating" {
		return id
	}
	r = s.call(t, "POST", fmt.Sprintf("/api/v1/elections/%d/candidates", id), fx.staff, map[string]any{"user_id": fx.by["res"].userID, "source": "community", "name": "张小明"})
	e2eWant(t, r, http.StatusCreated)
	cand := mxID(t, r)
	for _, code := range []string{"public_spirited", "dedicated", "responsible", "cult", "criminal_record", "dishonest_debtor"} {
		e2eWant(t, s.call(t, "PUT", fmt.Sprintf("/api/v1/candidates/%d/findings/%s", cand, code), fx.staff, map[string]any{"pass": true, "note": "经社区走访核实"}), http.StatusOK)
	}
	if state == "ready" {
		return id
	}
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/elections/%d/publish-candidates", id), fx.staff, nil), http.StatusOK)
	return id
}

func mxElection(suffix string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
		id := fx.election
		if suffix != "" && mxSuccess(want) {
			id = mxElections(t, fx, "ready")
		}
		return mxReq{path: fmt.Sprintf("/api/v1/elections/%d%s", id, suffix)}
	}
}

func mxElectionBody(suffix string, body map[string]any) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
		return mxReq{path: fmt.Sprintf("/api/v1/elections/%d%s", fx.election, suffix), body: body}
	}
}

func mxNominate(t *testing.T, fx *mxFixture, c *mxCaller, want int) mxReq {
	id := fx.election
	if mxSuccess(want) {
		id = mxElections(t, fx, "nominating")
	}
	body := map[string]any{"user_id": c.userID, "source": "self", "name": "自荐人"}
	if c.userID == 0 {
		body = map[string]any{"user_id": fx.by["res"].userID, "source": "community", "name": "张小明"}
	}
	return mxReq{path: fmt.Sprintf("/api/v1/elections/%d/candidates", id), body: body}
}

func mxDrawBallot(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
	var id int64
	if mxSuccess(want) {
		id = mxElections(t, fx, "published")
	} else {
		if mxShared["ballot"] == 0 {
			mxShared["ballot"] = mxElections(t, fx, "published")
		}
		id = mxShared["ballot"]
	}
	opens := time.Now().Add(time.Hour)
	return mxReq{path: fmt.Sprintf("/api/v1/elections/%d/ballot", id), body: map[string]any{"ballot_mode": "named", "notice_days": 0, "objection_days": 0,
		"opens_at": opens, "closes_at": opens.Add(time.Hour)}}
}

// mxFreshCandidate: rep stands in a new election; by (a staff token) finds
// them in a cult (ineligible); appealed when appeal.
func mxFreshCandidate(t *testing.T, fx *mxFixture, by string, appeal bool) int64 {
	t.Helper()
	s, rep := fx.s, fx.by["rep"]
	r := s.call(t, "POST", fmt.Sprintf("/api/v1/elections/%d/candidates", mxElections(t, fx, "nominating")), rep.token,
		map[string]any{"user_id": rep.userID, "source": "self", "name": "王春芬"})
	e2eWant(t, r, http.StatusCreated)
	id := mxID(t, r)
	e2eWant(t, s.call(t, "PUT", fmt.Sprintf("/api/v1/candidates/%d/findings/cult", id), by, map[string]any{"pass": false, "note": "经核实"}), http.StatusOK)
	if appeal {
		e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/candidates/%d/appeal", id), rep.token, map[string]any{"reason": "记录有误，请复核"}), http.StatusCreated)
	}
	return id
}

func mxCandidate(suffix string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(t *testing.T, fx *mxFixture, c *mxCaller, want int) mxReq {
		id := fx.candidate
		var body any
		switch suffix {
		case "/findings/cult":
			body = map[string]any{"pass": false, "note": "经核实"}
		case "/appeal":
			body = map[string]any{"reason": "记录有误，请复核"}
			if mxSuccess(want) {
				id = mxFreshCandidate(t, fx, fx.staff, false)
			}
		case "/appeal/decision":
			body = map[string]any{"upheld": false, "note": "经复核，记录属实"}
			if mxSuccess(want) { // decided by one who recorded none of the failed findings
				by := fx.staff
				if c.name == "stf" {
					by = fx.admin
				}
				id = mxFreshCandidate(t, fx, by, true)
			}
		}
		return mxReq{path: fmt.Sprintf("/api/v1/candidates/%d%s", id, suffix), body: body}
	}
}

func mxRaise(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return mxReq{path: "/api/v1/courtyards/1/opinions", body: map[string]any{"category": "repair", "body": "1单元楼道灯坏了两个月"}}
}

// mxFreshOpinion: res raises a private opinion (with photo); resolved by
// staff when resolved.
func mxFreshOpinion(t *testing.T, fx *mxFixture, photo string, resolved bool) int64 {
	t.Helper()
	body := map[string]any{"category": "repair", "body": "1单元楼道灯坏了两个月，晚上看不见台阶"}
	if photo != "" {
		body["photos"] = []string{photo}
	}
	r := fx.s.call(t, "POST", "/api/v1/courtyards/1/opinions", fx.by["res"].token, body)
	e2eWant(t, r, http.StatusCreated)
	id := mxID(t, r)
	if resolved {
		e2eWant(t, fx.s.call(t, "POST", fmt.Sprintf("/api/v1/opinions/%d/replies", id), fx.staff, map[string]any{"body": "已更换灯泡", "status": "resolved"}), http.StatusCreated)
	}
	return id
}

func mxOpinion(suffix, state string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
		id := fx.opinion
		if state != "" {
			switch key := "opinion" + suffix; {
			case mxSuccess(want):
				id = mxFreshOpinion(t, fx, "", state == "resolved")
			case mxShared[key] == 0:
				mxShared[key] = mxFreshOpinion(t, fx, "", state == "resolved")
				fallthrough
			default:
				id = mxShared[key]
			}
		}
		path := fmt.Sprintf("/api/v1/opinions/%d%s", id, suffix)
		var body any
		switch suffix {
		case "/photos":
			path += "/" + fx.photoKey
		case "/assign":
			body = map[string]any{"assignee_id": fx.by["cnc"].userID}
		case "/replies":
			body = map[string]any{"body": "已报物业维修"}
		case "/rating":
			body = map[string]any{"rating": 4}
		case "/reopen":
			body = map[string]any{"reason": "灯又坏了"}
		case "/motion-draft":
			body = mxMotionBody(time.Now().Add(time.Hour))
		case "/petition-draft":
			body = mxCreatePetition(t, fx, nil, want).body
		}
		return mxReq{path: path, body: body}
	}
}

func mxSurveyBody() map[string]any {
	return map[string]any{"title": "矩阵满意度测评", "closes_at": time.Now().Add(48 * time.Hour), "questions": []map[string]string{
		{"text": "总体满意度", "kind": "rating"}, {"text": "意见和建议", "kind": "text"}}}
}

func mxOpenSurvey(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{path: fmt.Sprintf("/api/v1/councils/%d/surveys", fx.council), body: mxSurveyBody()}
}

func mxSurveys(t *testing.T, fx *mxFixture) int64 {
	t.Helper()
	r := fx.s.call(t, "POST", fmt.Sprintf("/api/v1/councils/%d/surveys", fx.council), fx.staff, mxSurveyBody())
	e2eWant(t, r, http.StatusCreated)
	return mxID(t, r)
}

func mxSurvey(suffix string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(t *testing.T, fx *mxFixture, _ *mxCaller, want int) mxReq {
		id := fx.survey
		if mxSuccess(want) && (suffix == "/responses" || suffix == "/close") {
			id = mxSurveys(t, fx)
		}
		var body any
		if suffix == "/responses" {
			body = map[string]any{"household_id": fx.h1, "answers": []map[string]any{{"rating": 4}, {"text": "楼道干净多了"}}}
		}
		return mxReq{path: fmt.Sprintf("/api/v1/surveys/%d%s", id, suffix), body: body}
	}
}

// mxSetupCouncil finds the demo council, links the courtyard's WeChat group
// (cnc) and makes the election, candidate, opinion and survey the rows share.
func mxSetupCouncil(t *testing.T, fx *mxFixture) {
	t.Helper()
	s := fx.s
	r := s.call(t, "GET", "/api/v1/courtyards/1/councils", fx.staff, nil)
	e2eWant(t, r, http.StatusOK)
	var cs struct {
		Councils []struct {
			ID int64 `json:"id"`
		} `json:"councils"`
	}
	r.decode(t, &cs)
	if len(cs.Councils) != 1 {
		t.Fatalf("demo councils: %s", r)
	}
	fx.council = cs.Councils[0].ID
	body, tok := mxShareInfo(t, fx.by["cnc"])
	e2eWant(t, s.call(t, "POST", "/api/v1/courtyards/1/wechat-group", *tok, body), http.StatusOK)
	fx.candidate = mxFreshCandidate(t, fx, fx.staff, true)
	r = s.call(t, "GET", fmt.Sprintf("/api/v1/candidates/%d/checklist", fx.candidate), fx.staff, nil)
	e2eWant(t, r, http.StatusOK)
	var cl struct {
		Candidate struct {
			ElectionID int64 `json:"election_id"`
		} `json:"candidate"`
	}
	r.decode(t, &cl)
	fx.election = cl.Candidate.ElectionID
	fx.photoKey = mxUploadKey(t, fx, fx.by["res"].token, "opinion_photo")
	fx.opinion = mxFreshOpinion(t, fx, fx.photoKey, false)
	fx.survey = mxSurveys(t, fx)
}

// mxPlaceIDs reads courtyard 1's first building and unit and the names of
// courtyard 1 and community 1 (as the subdistrict admin sees them).
func mxPlaceIDs(t *testing.T, fx *mxFixture) (buildingID, unitID int64, names map[string]string) {
	t.Helper()
	type unit struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	type building struct {
		unit
		Units []unit `json:"units"`
	}
	var bs struct {
		Buildings []building `json:"buildings"`
	}
	r := fx.s.call(t, "GET", "/api/v1/courtyards/1/buildings", fx.admin, nil)
	e2eWant(t, r, http.StatusOK)
	if err := json.Unmarshal(r.Body, &bs); err != nil {
		t.Fatalf("courtyard 1's buildings: %v %s", err, r)
	}
	// The roster's first building with units (cells before made empty ones).
	bs.Buildings = slices.DeleteFunc(bs.Buildings, func(b building) bool { return len(b.Units) == 0 })
	if len(bs.Buildings) == 0 {
		t.Fatalf("courtyard 1 has no building with units: %s", r)
	}
	var tree struct {
		Subdistricts []struct {
			Children []struct {
				ID       int64  `json:"id"`
				Name     string `json:"name"`
				Children []struct {
					ID   int64  `json:"id"`
					Name string `json:"name"`
				} `json:"children"`
			} `json:"children"`
		} `json:"subdistricts"`
	}
	r = fx.s.call(t, "GET", "/api/v1/me/places", fx.admin, nil)
	e2eWant(t, r, http.StatusOK)
	if err := json.Unmarshal(r.Body, &tree); err != nil {
		t.Fatalf("places tree: %v", err)
	}
	names = map[string]string{"building": bs.Buildings[0].Name, "unit": bs.Buildings[0].Units[0].Name}
	for _, s := range tree.Subdistricts {
		for _, c := range s.Children {
			if c.ID == 1 {
				names["community"] = c.Name
			}
			for _, y := range c.Children {
				if y.ID == 1 {
					names["courtyard"] = y.Name
				}
			}
		}
	}
	return bs.Buildings[0].ID, bs.Buildings[0].Units[0].ID, names
}

// mxCreatePlace: each cell asks for a name of its own (a success makes a
// place; a second success with the same name would be 409). parent
// "building" means courtyard 1's first building.
func mxCreatePlace(path, suffix string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(t *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
		if path == "building" {
			b, _, _ := mxPlaceIDs(t, fx)
			path = fmt.Sprintf("/api/v1/buildings/%d/units", b)
		}
		return mxReq{path: path, body: map[string]any{"name": fmt.Sprintf("矩阵%d%s", mxSeq.Add(1), suffix)}}
	}
}

// mxRenamePlace renames courtyard 1's place of level to the name it has:
// allowed cells answer 200 and nothing changes for the rows after.
func mxRenamePlace(level string) func(*testing.T, *mxFixture, *mxCaller, int) mxReq {
	return func(t *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
		b, u, names := mxPlaceIDs(t, fx)
		id := map[string]int64{"community": 1, "courtyard": 1, "building": b, "unit": u}[level]
		collection := map[string]string{"community": "communities", "courtyard": "courtyards", "building": "buildings", "unit": "units"}[level]
		return mxReq{path: fmt.Sprintf("/api/v1/%s/%d", collection, id), body: map[string]any{"name": names[level]}}
	}
}

func mxMembers(_ *testing.T, fx *mxFixture, _ *mxCaller, _ int) mxReq {
	return mxReq{path: fmt.Sprintf("/api/v1/households/%d/members", fx.h1)}
}
