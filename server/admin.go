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

	"github.com/louyuan/louyuan/internal/identity"
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
		return errors.New("usage: server admin create-staff|grant|add-courtyard ...")
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
	case "grant":
		staffID := fs.Int64("staff", 0, "staff account ID")
		userID := fs.Int64("user", 0, "WeChat user ID (instead of -staff)")
		role := fs.String("role", "", "subdistrict_admin, community_staff, council_chair or council_member")
		scope := fs.Int64("scope", 0, "ID of the subdistrict, community or courtyard the role covers")
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
		return grant(ctx, svc, stdout, kind, id, *role, *scope)
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
