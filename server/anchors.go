package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/notice"
)

// anchorPublisher publishes the audit anchors once per period (see
// Config.Audit.AnchorInterval). Every instance runs it; the period's row
// in audit_anchors and the notice's event key let one publication through.
type anchorPublisher struct {
	mu   sync.Mutex
	done time.Time // the last period published (or found published) here
}

// anchorPeriod is the start of the period now falls in; periods are
// counted from 00:00 China time.
func anchorPeriod(now time.Time, every time.Duration) time.Time {
	const offset = 8 * 3600
	s := int64(every / time.Second)
	if s <= 0 {
		return time.Time{}
	}
	t := now.Unix() + offset
	return time.Unix(t-t%s-offset, 0).UTC()
}

func (p *anchorPublisher) tick(ctx context.Context, a *App) {
	every := a.cfg.Audit.AnchorInterval
	if every <= 0 {
		return
	}
	period := anchorPeriod(time.Now(), every)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done.Before(period) {
		return
	}
	if err := publishAnchors(ctx, a, period); err != nil {
		a.log.WarnContext(ctx, "publish audit anchors", "err", err)
		return
	}
	p.done = period
}

// publishAnchors publishes every scope's anchor for the period: kept in
// audit_anchors, audited, a log line with the whole anchor and, for a
// courtyard, a notice to its council with the digest.
func publishAnchors(ctx context.Context, a *App, period time.Time) error {
	anchors, err := a.Audit.Anchors(ctx)
	if err != nil {
		return err
	}
	for _, an := range anchors {
		var published bool
		err := a.DB.InTx(ctx, func(ctx context.Context) error {
			ok, err := a.Audit.PublishAnchor(ctx, an, period)
			if err != nil || !ok {
				return err
			}
			published = true
			stream := audit.GlobalStream
			var courtyardID int64
			if id, ok := strings.CutPrefix(an.Scope, "courtyard:"); ok {
				courtyardID, _ = strconv.ParseInt(id, 10, 64)
				stream = audit.CourtyardStream(courtyardID)
			}
			if err := a.Audit.Append(ctx, audit.Record{Stream: stream, Actor: "system", Action: "audit.anchor", Object: "anchor:" + an.Scope,
				Detail: map[string]any{"digest": an.Digest, "at": an.At.Format(time.RFC3339), "streams": an.Streams, "entries": an.Entries, "mac": an.MAC}}); err != nil {
				return err
			}
			if courtyardID == 0 {
				return nil
			}
			users, err := a.Audit.CouncilUsers(ctx, courtyardID, time.Now().In(louyuan.China).Format("2006-01-02"))
			if err != nil {
				return err
			}
			return a.Notices.Notify(ctx, notice.Event{
				Key:  notice.KindAuditAnchor + ":" + an.Scope + ":" + period.Format("20060102T1504"),
				Kind: notice.KindAuditAnchor, CourtyardID: courtyardID,
				Title: "审计日志锚点 " + notice.ChinaTime(an.At),
				Body: fmt.Sprintf("截至%s，本楼院审计日志共 %d 条、%d 条记录链，摘要（SHA-256）：%s。"+
					"请理事会成员保留本消息：今后核对记录时，服务器的审计日志必须与这一摘要相符，否则说明记录被删改。",
					notice.ChinaTime(an.At), an.Entries, an.Streams, an.Digest),
				To: notice.EventRecipients{Users: users}})
		})
		if err != nil {
			return fmt.Errorf("publish anchor of %s: %w", an.Scope, err)
		}
		if published {
			// The whole anchor, so that the log alone can be given to
			// `server audit verify -anchors`.
			a.log.InfoContext(ctx, "audit anchor", "scope", an.Scope, "digest", an.Digest, "anchor", an)
		}
	}
	return nil
}

// auditCmd runs `server audit verify [-anchors FILE]` and `server audit
// anchor [-o FILE] [-published]`.
func auditCmd(ctx context.Context, cfg *Config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: server audit verify [-anchors FILE] | server audit anchor [-o FILE] [-published]")
	}
	switch args[0] {
	case "verify":
		fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
		fs.SetOutput(stderr)
		anchors := fs.String("anchors", "", "anchors (JSON lines from `server audit anchor` or the server's log) to check the chains against")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return auditVerify(ctx, cfg, log, stdout, *anchors)
	case "anchor":
		fs := flag.NewFlagSet("audit anchor", flag.ContinueOnError)
		fs.SetOutput(stderr)
		out := fs.String("o", "", "write the anchors to this file instead of stdout")
		published := fs.Bool("published", false, "the anchors published so far instead of the current ones")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		a, err := openStores(ctx, cfg, log, false)
		if err != nil {
			return err
		}
		defer a.Close()
		var as []audit.Anchor
		if *published {
			as, err = a.Audit.PublishedAnchors(ctx, "")
		} else {
			as, err = a.Audit.Anchors(ctx)
		}
		if err != nil {
			return err
		}
		w := stdout
		if *out != "" {
			f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		if err := audit.WriteAnchors(w, as); err != nil {
			return err
		}
		if *out != "" {
			fmt.Fprintf(stdout, "%d anchors written to %s\n", len(as), *out)
		}
		return nil
	}
	return fmt.Errorf("unknown audit command %q", args[0])
}
