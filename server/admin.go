package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/sqlstore"
)

func timeNow() time.Time { return time.Now().UTC() }

// adminServices wires identity for the command line (no HTTP, no WeChat).
func adminServices(ctx context.Context, cfg *Config, log *slog.Logger) (*App, *identity.Service, error) {
	a, err := openStores(ctx, cfg, log, true)
	if err != nil {
		return nil, nil, err
	}
	phones, err := identity.NewPhoneVault(cfg.Security.PhoneKey)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	idCfg := identity.DefaultConfig()
	idCfg.BcryptCost = cfg.Security.BcryptCost
	idCfg.SigningKey = cfg.sessionSigningKey()
	svc := identity.NewService(sqlstore.NewIdentity(a.DB), nil, nil, noLimits{}, phones, a.Audit, idCfg, log)
	return a, svc, nil
}

type noLimits struct{}

func (noLimits) Allow(context.Context, string, int, time.Duration) (bool, time.Duration, error) {
	return true, 0, nil
}

func (noLimits) Spend(context.Context, string, time.Duration) (int, time.Duration, error) {
	return 1, 0, nil
}

func (noLimits) Reset(context.Context, string) error { return nil }

func adminCmd(ctx context.Context, cfg *Config, log *slog.Logger, args []string, stdout, stderr io.Writer, stdin io.Reader) error {
	if len(args) == 0 {
		return errors.New("usage: server admin create-staff|grant|revoke|council-member|add-courtyard ...")
	}
	fs := flag.NewFlagSet("admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "create-staff":
		username := fs.String("username", "", "login name (letters, digits, . _ -)")
		name := fs.String("name", "", "display name, e.g. 张伟")
		role := fs.String("role", "", "optional role to grant: subdistrict_admin or community_staff")
		scope := fs.Int64("scope", 0, "subdistrict ID (subdistrict_admin) or community ID (community_staff)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		password, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		a, svc, err := adminServices(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer a.Close()
		st, err := svc.CreateStaff(ctx, "cli", *username, *name, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "staff account %d (%s) created\n", st.ID, st.Username)
		if *role != "" {
			return grant(ctx, svc, stdout, identity.KindStaff, st.ID, *role, *scope)
		}
		return nil
	case "grant", "revoke":
		staffID := fs.Int64("staff", 0, "staff account ID")
		userID := fs.Int64("user", 0, "WeChat user ID (instead of -staff)")
		role := fs.String("role", "", "subdistrict_admin, community_staff or phone_viewer (council roles come from a council term: admin council-member)")
		scope := fs.Int64("scope", 0, "ID of the subdistrict or community the role covers")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		kind, id := identity.KindStaff, *staffID
		if *userID != 0 {
			kind, id = identity.KindUser, *userID
		}
		if id == 0 {
			return errors.New("give -staff ID or -user ID")
		}
		a, svc, err := adminServices(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer a.Close()
		if args[0] == "revoke" {
			r := identity.Role(*role)
			g := identity.Grant{Role: r, ScopeType: identity.ScopeFor(r), ScopeID: *scope}
			if err := svc.Revoke(ctx, nil, kind, id, g); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "revoked %s over %s %d from %s %d\n", *role, g.ScopeType, *scope, kind, id)
			return nil
		}
		return grant(ctx, svc, stdout, kind, id, *role, *scope)
	case "council-member":
		yard := fs.Int64("courtyard", 0, "courtyard ID")
		userID := fs.Int64("user", 0, "WeChat user ID of the council member")
		seat := fs.String("seat", "member", "chair, member or treasurer")
		from := fs.String("from", "", "first day of the council term, YYYY-MM-DD (default today)")
		to := fs.String("to", "", "last day of the council term, YYYY-MM-DD (default three years on)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		a, err := openStores(ctx, cfg, log, true)
		if err != nil {
			return err
		}
		defer a.Close()
		return councilMember(ctx, a, stdout, *yard, *userID, *seat, *from, *to)
	case "add-courtyard":
		sub := fs.String("subdistrict", "", "subdistrict name, e.g. 新华路街道")
		comm := fs.String("community", "", "community name, e.g. 桐本北路社区")
		yard := fs.String("courtyard", "", "courtyard name, e.g. 铝厂小区")
		addr := fs.String("address", "", "street address")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *sub == "" || *comm == "" || *yard == "" {
			return errors.New("-subdistrict, -community and -courtyard are required")
		}
		a, err := openStores(ctx, cfg, log, true)
		if err != nil {
			return err
		}
		defer a.Close()
		s, c, y, err := sqlstore.NewPlaces(a.DB).EnsureCourtyard(ctx, *sub, *comm, *yard, *addr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "subdistrict %d, community %d, courtyard %d\n", s, c, y)
		return nil
	}
	return fmt.Errorf("unknown admin command %q", args[0])
}

func grant(ctx context.Context, svc *identity.Service, stdout io.Writer, kind identity.Kind, id int64, role string, scope int64) error {
	r := identity.Role(role)
	g := identity.Grant{Role: r, ScopeType: identity.ScopeFor(r), ScopeID: scope}
	if err := svc.Grant(ctx, nil, kind, id, g); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "granted %s over %s %d to %s %d\n", role, g.ScopeType, scope, kind, id)
	return nil
}

// councilMember seats a WeChat user on the council term of a courtyard
// that runs from..to (made when there is none), the only way to a council
// role: council roles are never granted alone.
func councilMember(ctx context.Context, a *App, stdout io.Writer, courtyardID, userID int64, seat, from, to string) error {
	if courtyardID <= 0 || userID <= 0 {
		return errors.New("-courtyard ID and -user ID are required")
	}
	if seat != "chair" && seat != "member" && seat != "treasurer" {
		return errors.New("-seat must be chair, member or treasurer")
	}
	today := time.Now().In(louyuan.China)
	if from == "" {
		from = today.Format(time.DateOnly)
	}
	if to == "" {
		to = today.AddDate(3, 0, -1).Format(time.DateOnly)
	}
	for _, d := range []string{from, to} {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return fmt.Errorf("-from and -to are dates like 2026-01-31: %q", d)
		}
	}
	if to < from {
		return errors.New("-to is before -from")
	}
	places := sqlstore.NewPlaces(a.DB)
	termID, err := places.CouncilTerm(ctx, courtyardID, from, to)
	if err != nil {
		return err
	}
	err = a.DB.InTx(ctx, func(ctx context.Context) error {
		if err := places.AddCouncilMember(ctx, termID, userID, seat); err != nil {
			return err
		}
		return a.Audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(courtyardID), Actor: "cli", Action: "council.member_added",
			Object: fmt.Sprintf("user:%d", userID), Detail: map[string]any{"term": termID, "seat": seat, "from": from, "to": to}})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user %d is council %s of courtyard %d from %s to %s (term %d)\n", userID, seat, courtyardID, from, to, termID)
	return nil
}

// readPassword takes the password from LOUYUAN_ADMIN_PASSWORD or the first
// line of standard input, so that it never appears in the shell history.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if p := os.Getenv("LOUYUAN_ADMIN_PASSWORD"); p != "" {
		return p, nil
	}
	fmt.Fprint(stderr, "password (at least 10 characters): ")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password on standard input (or set LOUYUAN_ADMIN_PASSWORD)")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
