package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/roster"
	"github.com/louyuan/louyuan/internal/sqlstore"
)

// The demo staff account. Its password is public, so it is used only by the
// embedded default (SQLite in the data folder, on a developer's machine).
// Seeded into a production database (LOUYUAN_DEMO with a DSN), the account
// gets LOUYUAN_DEMO_PASSWORD or a generated password that is printed once.
const (
	demoStaffUser     = "shequ"
	demoStaffPassword = "louyuan-demo"
)

// minDemoPassword is the shortest LOUYUAN_DEMO_PASSWORD accepted for a
// production database.
const minDemoPassword = 12

// demoPassword decides the demo staff password: the configured one, the
// public one in the embedded default, or a fresh random one for a
// production database. generated says that nobody else knows it yet, so it
// must be printed (once, at seed time).
func demoPassword(cfg *Config) (password string, generated bool, err error) {
	p := cfg.DemoPassword
	if cfg.Embedded() {
		if p == "" {
			p = demoStaffPassword
		}
		return p, false, nil
	}
	switch {
	case p == demoStaffPassword:
		return "", false, fmt.Errorf("LOUYUAN_DEMO_PASSWORD is the public demo password %q; with a production database choose another one "+
			"(at least %d characters) or unset it to have one generated and printed once / 生产数据库不能使用公开的演示密码", demoStaffPassword, minDemoPassword)
	case p != "" && utf8.RuneCountInString(p) < minDemoPassword:
		return "", false, fmt.Errorf("LOUYUAN_DEMO_PASSWORD must be at least %d characters with a production database, "+
			"or unset to have one generated and printed once / 演示密码至少 %d 个字符", minDemoPassword, minDemoPassword)
	case p != "":
		return p, false, nil
	}
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", false, err
	}
	return base64.RawURLEncoding.EncodeToString(b), true, nil
}

// demoOwners are the owners of the demo's 56 households, in room order.
// 王春芬 owns two households (she counts once in the headcount; her rows
// are marked 同名是同一人, as the roster has no ID digits); 刘宗敏 and 李秀英
// own one together.
var demoOwners = strings.Fields(`王春芬 刘宗敏、李秀英 张建国 李桂兰 王德胜 赵淑珍 陈志强 杨秀梅 黄国庆 周玉兰
吴建华 徐凤英 孙志刚 马桂芳 朱建军 胡秀云 郭宝山 何丽华 高振东 林素珍 罗建平 郑美玲 梁国栋 谢秀珍
宋志明 唐玉珍 许建新 韩桂英 冯德明 邓秀兰 曹国华 彭淑芬 曾建国 肖玉梅 田志勇 董秀英 袁国强 潘丽娟
于建民 蒋秀芳 蔡国平 余桂香 杜建设 叶秀华 程志华 苏玉英 魏国良 吕秀琴 丁建忠 任桂珍 沈国富 姚秀云
卢建成 姜玉芳 崔志远 王春芬`)

// demoRows lays out 铝厂小区: two buildings of two units, seven
// floors, two flats a floor (east flats larger than west), 56 households.
func demoRows() []roster.ImportRow {
	var rows []roster.ImportRow
	times := map[string]int{}
	for _, o := range demoOwners {
		times[o]++
	}
	i := 0
	for b := 1; b <= 2; b++ {
		for u := 1; u <= 2; u++ {
			for f := 1; f <= 7; f++ {
				for r := 1; r <= 2; r++ {
					area := louyuan.Area(6235 + 1120*(r-1) + 45*(b-1) + 13*(u-1))
					var owners []roster.OwnerRef
					for _, n := range strings.Split(demoOwners[i], "、") {
						owners = append(owners, roster.OwnerRef{Name: n})
					}
					rows = append(rows, roster.ImportRow{Line: i + 2, Building: fmt.Sprintf("%d号楼", b), Unit: fmt.Sprintf("%d单元", u),
						Room: fmt.Sprintf("%d%02d", f, r), Floor: f, Area: area, Owners: owners, SameNamesakes: times[demoOwners[i]] > 1})
					i++
				}
			}
		}
	}
	return rows
}

// seedDemo creates the demo courtyard on an empty database: 新华路街道 →
// 桐本北路社区 → 铝厂小区 with 56 households, its council (the fake WeChat
// users "lizhang" as chair and "lishi" as member), a community staff account
// and one invite code per household, written to data/demo-invites.tsv.
//
// It is one transaction: a start that fails halfway leaves an empty
// database, and the next start seeds it again.
func seedDemo(ctx context.Context, a *App, out io.Writer) error {
	return a.DB.InTx(ctx, func(ctx context.Context) error { return seedDemoTx(ctx, a, out) })
}

func seedDemoTx(ctx context.Context, a *App, out io.Writer) error {
	places := sqlstore.NewPlaces(a.DB)
	empty, err := places.Empty(ctx)
	if err != nil || !empty {
		return err
	}
	_, commID, yardID, err := places.EnsureCourtyard(ctx, "新华路街道", "桐本北路社区", "铝厂小区", "河南省巩义市新华路街道桐本北路")
	if err != nil {
		return err
	}
	password, generated, err := demoPassword(a.cfg)
	if err != nil {
		return err
	}
	staff, err := a.Identity.CreateStaff(ctx, "demo", demoStaffUser, "桐本北路社区网格员", password)
	if err != nil {
		return err
	}
	grant := identity.Grant{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: commID}
	if err := a.Identity.Grant(ctx, nil, identity.KindStaff, staff.ID, grant); err != nil {
		return err
	}
	clerk := identity.Principal{Kind: identity.KindStaff, ID: staff.ID, Grants: []identity.Grant{grant}}
	if _, err := a.Roster.Import(ctx, clerk, yardID, demoRows()); err != nil {
		return err
	}
	_, termID, err := places.CreateCouncil(ctx, "铝厂小区楼院理事会", []int64{yardID}, "2026-01-01", "2028-12-31")
	if err != nil {
		return err
	}
	ids := sqlstore.NewIdentity(a.DB)
	councilUsers := []struct{ handle, role string }{{"lizhang", "chair"}, {"lishi", "member"}}
	if a.Fake == nil {
		// A real WeChat app is configured: the demo's council members are
		// fake WeChat users nobody could log in as.
		a.log.Warn("demo: council members not seeded because a real WeChat app is configured; add them with `server admin council-member -courtyard COURTYARD -user ID -seat member`")
		councilUsers = nil
	}
	for _, m := range councilUsers {
		u, _, err := ids.UpsertUser(ctx, a.Fake.User(m.handle).OpenID, "", timeNow())
		if err != nil {
			return err
		}
		if err := places.AddCouncilMember(ctx, termID, u.ID, m.role); err != nil {
			return err
		}
		if err := a.Audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(yardID), Actor: "demo", Action: "council.member_add",
			Object: fmt.Sprintf("user:%d", u.ID), Detail: map[string]any{"role": m.role, "term": termID}}); err != nil {
			return err
		}
	}
	slips, err := a.Roster.IssueInvites(ctx, clerk, yardID, nil, roster.RoleOwner)
	if err != nil {
		return err
	}
	path := filepath.Join(a.cfg.DataDir, "demo-invites.tsv")
	var b strings.Builder
	b.WriteString("building\tunit\troom\tcode\n")
	for _, s := range slips {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", s.Building, s.Unit, s.Room, s.Code)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n演示数据已创建 / demo courtyard seeded: 新华路街道 › 桐本北路社区 › 铝厂小区 (courtyard %d, 56 households)\n", yardID)
	// The password goes to stdout only, here and once; it is never logged.
	fmt.Fprintf(out, "  staff login: %s / %s (community staff of 桐本北路社区)\n", demoStaffUser, password)
	if generated {
		fmt.Fprintf(out, "  生成的密码只显示这一次 / this generated password is shown only now: keep it or change it\n")
	}
	fmt.Fprintf(out, "  council: fake WeChat users \"lizhang\" (chair) and \"lishi\" (member); log in with code \"lizhang.1\"\n")
	fmt.Fprintf(out, "  invite codes (one per household, all in %s):\n", path)
	for _, s := range slips[:5] {
		fmt.Fprintf(out, "    %s%s%s  %s\n", s.Building, s.Unit, s.Room, s.Code)
	}
	fmt.Fprintln(out)
	return nil
}
