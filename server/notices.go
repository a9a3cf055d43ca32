package main

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/louyuan/louyuan/internal/notice"
	"github.com/louyuan/louyuan/internal/petition"
	"github.com/louyuan/louyuan/internal/voting"
	"github.com/louyuan/louyuan/internal/wechat"
)

// demoTemplates are the subscribe templates of the embedded default: the
// fake WeChat API accepts any template ID, so the demo delivers every kind.
func demoTemplates() map[string]notice.Template {
	out := map[string]notice.Template{}
	for _, k := range notice.Kinds {
		out[k] = notice.Template{ID: "demo-" + k, Fields: map[string]string{"thing1": "title", "thing2": "body", "time3": "time", "thing4": "courtyard"}}
	}
	return out
}

// subscribeSender adapts the WeChat client to notice delivery, telling
// apart WeChat's answers (errcodes), calls never made (circuit open) and
// calls whose outcome is unknown (timeouts).
type subscribeSender struct{ c *wechat.Client }

func (s subscribeSender) Send(ctx context.Context, m notice.Message) (int64, error) {
	id, err := s.c.SendSubscribe(ctx, wechat.SubscribeMessage{ToUser: m.OpenID, TemplateID: m.TemplateID, Page: m.Page, Data: m.Data})
	if err == nil {
		return id, nil
	}
	var apiErr *wechat.APIError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr):
		return 0, &notice.SendError{Code: apiErr.Code, Msg: apiErr.Msg}
	case errors.Is(err, wechat.ErrUnavailable):
		return 0, errors.Join(notice.ErrUnavailable, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return 0, errors.Join(notice.ErrUnknown, err)
	}
	return 0, err
}

// notifier turns motion, delegation and petition events into system
// notices, written in the event's own transaction.
type notifier struct{ n *notice.Service }

var (
	_ voting.Notifier   = notifier{}
	_ petition.Notifier = notifier{}
)

func (nf notifier) MotionChanged(ctx context.Context, m voting.Motion, action string) error {
	page := "pages/motion/detail?id=" + strconv.FormatInt(m.ID, 10)
	switch action {
	case "motion.open":
		return nf.n.Notify(ctx, notice.Event{Key: notice.KindMotionOpened + ":" + strconv.FormatInt(m.ID, 10), Kind: notice.KindMotionOpened, CourtyardID: m.CourtyardID,
			Title: "表决开始：" + m.Title, Body: "投票已经开始，截止时间：" + notice.ChinaTime(m.ClosesAt) + "。请户代表在小程序中投票，也可以委托他人代投。",
			Page: page, To: notice.EventRecipients{Motion: m.ID}})
	case "motion.close":
		result := "未通过"
		if m.Passed != nil && *m.Passed {
			result = "通过"
		}
		return nf.n.Notify(ctx, notice.Event{Key: notice.KindMotionResult + ":" + strconv.FormatInt(m.ID, 10), Kind: notice.KindMotionResult, CourtyardID: m.CourtyardID,
			Title: "表决结果：" + m.Title, Body: "投票已结束，初步结果：" + result + "。异议期内可以查看明细并提出异议。",
			Page: page, To: notice.EventRecipients{Motion: m.ID}})
	}
	return nil
}

func (nf notifier) DelegationChanged(ctx context.Context, d voting.Delegation, action string) error {
	e := notice.Event{CourtyardID: d.CourtyardID, Page: "pages/delegation/list"}
	switch action {
	case "delegation.create":
		e.Kind, e.Title, e.Body, e.To = notice.KindDelegationReceived, "您收到一项投票委托", "有住户委托您代为投票，请在小程序中查看并决定是否接受。",
			notice.EventRecipients{Users: []int64{d.ProxyUserID}}
	case "delegation.accept":
		e.Kind, e.Title, e.Body, e.To = notice.KindDelegationAccepted, "受托人已接受您的委托", "您委托的受托人已接受委托；您本户自己投票时以本户的投票为准。",
			notice.EventRecipients{Household: d.HouseholdID}
	case "delegation.revoke":
		e.Kind, e.Title, e.Body, e.To = notice.KindDelegationRevoked, "一项投票委托已撤销", "委托您代为投票的住户已撤销委托；您为该户投的票已作废。",
			notice.EventRecipients{Users: []int64{d.ProxyUserID}}
	default:
		return nil
	}
	e.Key = e.Kind + ":" + strconv.FormatInt(d.ID, 10)
	return nf.n.Notify(ctx, e)
}

func (nf notifier) PetitionClosed(ctx context.Context, p petition.Petition) error {
	return nf.n.Notify(ctx, notice.Event{Key: notice.KindPetitionClosed + ":" + strconv.FormatInt(p.ID, 10), Kind: notice.KindPetitionClosed, CourtyardID: p.CourtyardID,
		Title: "征求已结束：" + p.Title, Body: "您签名的征求意见已经结束，可以在小程序中查看结果。",
		Page: "pages/petition/detail?id=" + strconv.FormatInt(p.ID, 10), To: notice.EventRecipients{Petition: p.ID}})
}

// Tell sends a council or opinion event (candidates published, an
// election's result, an opinion answered, a survey opened) to users as a
// system notice.
func (nf notifier) Tell(ctx context.Context, courtyardID int64, key, title, body, page string, users []int64) error {
	if len(users) == 0 {
		return nil
	}
	return nf.n.Notify(ctx, notice.Event{Key: key, Kind: notice.KindNotice, CourtyardID: courtyardID, Title: title, Body: body, Page: page,
		To: notice.EventRecipients{Users: users}})
}
