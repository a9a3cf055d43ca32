package wechatfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds request bodies.
const maxBody = 1 << 20

// errmsgs are WeChat's messages for the errcodes the fake answers; WeChat
// appends ", rid: <id>" to each.
var errmsgs = map[int]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest",
	40002: "invalid grant_type",
	40003: "invalid openid",
	40013: "invalid appid",
	40029: "invalid code",
	40037: "invalid template_id",
	40097: "invalid args",
	40125: "invalid appsecret",
	40163: "code been used",
	41001: "access_token missing",
	41002: "appid missing",
	41004: "appsecret missing",
	41008: "missing code",
	42001: "access_token expired",
	43001: "require GET method",
	43002: "require POST method",
	43101: "user refuse to accept the msg",
	44002: "empty post data",
	44004: "empty content",
	45009: "reach max api daily quota limit",
	45011: "api minute-quota reach limit  mustslower  retry next minute",
	47001: "data format error",
	47003: "argument invalid!",
	87014: "risky content",
}

// errorBody is WeChat's common answer; successful answers of most APIs
// embed it with errcode 0 and errmsg "ok".
type errorBody struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (b errorBody) errcode() int { return b.ErrCode }

func okAnswer() errorBody { return errorBody{ErrCode: 0, ErrMsg: "ok"} }

func errorAnswer(code int) errorBody { return errorAnswerDetail(code, "") }

// errorAnswerDetail is errorAnswer with detail after the standard message,
// as in "argument invalid! data.thing1.value is empty".
func errorAnswerDetail(code int, detail string) errorBody {
	msg, ok := errmsgs[code]
	if !ok {
		msg = "fake error " + strconv.Itoa(code)
	}
	if detail != "" {
		msg += " " + detail
	}
	return errorBody{ErrCode: code, ErrMsg: msg + ", rid: " + newTraceID()}
}

func errcodeOf(answer any) int {
	if e, ok := answer.(interface{ errcode() int }); ok {
		return e.errcode()
	}
	return 0
}

func writeJSON(w http.ResponseWriter, answer any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(answer); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// decodeBody reads a JSON body into v, answering 44002 for an empty body
// and 47001 for one that is not the expected JSON.
func decodeBody(r *http.Request, v any) int {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return 47001
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return 44002
	}
	if err := json.Unmarshal(body, v); err != nil {
		return 47001
	}
	return 0
}

type tokenBody struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// serveToken is GET /cgi-bin/token?grant_type=client_credential&appid=&secret=.
// Each call issues a new token; the previous one stays valid for at most
// five more minutes (tokenTTL/24), as on WeChat.
func (s *Server) serveToken(r *http.Request) any {
	q := r.URL.Query()
	if code := s.checkApp(q.Get("appid"), q.Get("secret")); code != 0 {
		return errorAnswer(code)
	}
	if q.Get("grant_type") != "client_credential" {
		return errorAnswer(40002)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	overlap := s.tokenTTL / 24
	if prev := s.plainToken; prev != nil && prev.expiresAt.After(now.Add(overlap)) {
		prev.expiresAt = now.Add(overlap)
	}
	s.plainToken = s.mintTokenLocked(false)
	s.tokensIssued++
	return tokenBody{AccessToken: s.plainToken.value, ExpiresIn: int64(s.tokenTTL.Seconds())}
}

// serveStableToken is POST /cgi-bin/stable_token with body {grant_type,
// appid, secret, force_refresh}. In normal mode it answers the current token
// and its remaining lifetime, and issues a new one only in the last five
// minutes (tokenTTL/24) of the current one, which stays valid meanwhile.
// force_refresh issues a new token and invalidates the previous one.
func (s *Server) serveStableToken(r *http.Request) any {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if code := decodeBody(r, &req); code != 0 {
		return errorAnswer(code)
	}
	if code := s.checkApp(req.AppID, req.Secret); code != 0 {
		return errorAnswer(code)
	}
	if req.GrantType != "client_credential" {
		return errorAnswer(40002)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	cur := s.stableToken
	switch {
	case req.ForceRefresh:
		if cur != nil {
			cur.revoked = true
		}
		cur = s.mintTokenLocked(true)
	case cur == nil || cur.revoked || cur.expiresAt.Sub(now) <= s.tokenTTL/24:
		cur = s.mintTokenLocked(true)
	}
	s.stableToken = cur
	s.tokensIssued++
	return tokenBody{AccessToken: cur.value, ExpiresIn: int64(cur.expiresAt.Sub(now).Seconds())}
}

type sessionBody struct {
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid,omitempty"`
	OpenID     string `json:"openid"`
}

// serveCode2Session is GET /sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code.
func (s *Server) serveCode2Session(r *http.Request) any {
	q := r.URL.Query()
	if code := s.checkApp(q.Get("appid"), q.Get("secret")); code != 0 {
		return errorAnswer(code)
	}
	if q.Get("grant_type") != "authorization_code" {
		return errorAnswer(40002)
	}
	jsCode := q.Get("js_code")
	if jsCode == "" {
		return errorAnswer(41008)
	}
	user, code := s.userForCode(jsCode, loginCode)
	if code != 0 {
		return errorAnswer(code)
	}
	key := newSessionKey()
	s.mu.Lock()
	s.sessionKeys[user.OpenID] = key // a new login replaces the user's key, as on WeChat
	s.mu.Unlock()
	return sessionBody{SessionKey: key, UnionID: user.UnionID, OpenID: user.OpenID}
}

type phoneBody struct {
	errorBody
	PhoneInfo phoneInfo `json:"phone_info"`
}

type phoneInfo struct {
	PhoneNumber     string    `json:"phoneNumber"`
	PurePhoneNumber string    `json:"purePhoneNumber"`
	CountryCode     string    `json:"countryCode"`
	Watermark       watermark `json:"watermark"`
}

type watermark struct {
	Timestamp int64  `json:"timestamp"`
	AppID     string `json:"appid"`
}

// servePhoneNumber is POST /wxa/business/getuserphonenumber?access_token=
// with body {"code"}.
func (s *Server) servePhoneNumber(r *http.Request) any {
	if code := s.checkAccessToken(r); code != 0 {
		return errorAnswer(code)
	}
	var req struct {
		Code string `json:"code"`
	}
	if code := decodeBody(r, &req); code != 0 {
		return errorAnswer(code)
	}
	if req.Code == "" {
		return errorAnswer(41008)
	}
	user, code := s.userForCode(req.Code, phoneCode)
	if code != 0 {
		return errorAnswer(code)
	}
	return phoneBody{
		errorBody: okAnswer(),
		PhoneInfo: phoneInfo{
			PhoneNumber:     user.Phone,
			PurePhoneNumber: user.Phone,
			CountryCode:     "86",
			Watermark:       watermark{Timestamp: s.now().Unix(), AppID: s.appID},
		},
	}
}

type subscribeBody struct {
	errorBody
	MsgID int64 `json:"msgid"`
}

// serveSubscribeSend is POST /cgi-bin/message/subscribe/send?access_token=
// with body {touser, template_id, page, data: {key: {value}},
// miniprogram_state, lang}.
func (s *Server) serveSubscribeSend(r *http.Request) any {
	if code := s.checkAccessToken(r); code != 0 {
		return errorAnswer(code)
	}
	var req struct {
		ToUser     string `json:"touser"`
		TemplateID string `json:"template_id"`
		Page       string `json:"page"`
		Data       map[string]struct {
			Value json.RawMessage `json:"value"`
		} `json:"data"`
		MiniprogramState string `json:"miniprogram_state"`
		Lang             string `json:"lang"`
	}
	if code := decodeBody(r, &req); code != 0 {
		return errorAnswer(code)
	}
	if !s.validOpenID(req.ToUser) {
		return errorAnswer(40003)
	}
	if req.TemplateID == "" || (s.templates != nil && !s.templates[req.TemplateID]) {
		return errorAnswer(40037)
	}
	if len(req.Data) == 0 {
		return errorAnswerDetail(47003, "data is empty")
	}
	data := make(map[string]string, len(req.Data))
	for key, item := range req.Data {
		value, err := scalarText(item.Value)
		if err != nil || value == "" {
			return errorAnswerDetail(47003, "data."+key+".value is empty")
		}
		data[key] = value
	}
	switch req.MiniprogramState {
	case "", "developer", "trial", "formal":
	default:
		return errorAnswerDetail(47003, "miniprogram_state")
	}
	switch req.Lang {
	case "", "zh_CN", "en_US", "zh_HK", "zh_TW":
	default:
		return errorAnswerDetail(47003, "lang")
	}

	s.mu.Lock()
	s.subscribeCalls[req.ToUser]++
	delay := s.subscribeLatency[req.ToUser]
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay) // not cut short: WeChat sends what it accepted
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if queue := s.subscribeResults[req.ToUser]; len(queue) > 0 {
		s.subscribeResults[req.ToUser] = queue[1:]
		if queue[0] != 0 {
			return errorAnswer(queue[0])
		}
	}
	msgID := s.nextMsgID
	s.nextMsgID++
	s.sent = append(s.sent, SentMessage{
		ToUser:           req.ToUser,
		TemplateID:       req.TemplateID,
		Page:             req.Page,
		Data:             data,
		MiniprogramState: req.MiniprogramState,
		Lang:             req.Lang,
		MsgID:            msgID,
		SentAt:           s.now(),
	})
	return subscribeBody{errorBody: okAnswer(), MsgID: msgID}
}

// scalarText renders a JSON string, number or bool as text; null or absent
// is "".
func scalarText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	if raw[0] == '{' || raw[0] == '[' {
		return "", errors.New("not a scalar")
	}
	return string(raw), nil
}

type secCheckBody struct {
	errorBody
	Result  secVerdict  `json:"result"`
	Detail  []secDetail `json:"detail"`
	TraceID string      `json:"trace_id"`
}

type secVerdict struct {
	Suggest string `json:"suggest"`
	Label   int    `json:"label"`
}

type secDetail struct {
	Strategy string `json:"strategy"`
	ErrCode  int    `json:"errcode"`
	Suggest  string `json:"suggest"`
	Label    int    `json:"label"`
	Prob     int    `json:"prob,omitempty"`
	Level    int    `json:"level,omitempty"`
	Keyword  string `json:"keyword,omitempty"`
}

// serveMsgSecCheck is POST /wxa/msg_sec_check?access_token=. Version 2 takes
// {content, version: 2, scene, openid, title, nickname, signature} and
// answers {errcode, errmsg, result: {suggest, label}, detail[], trace_id};
// without version 2 it answers as version 1 did: 87014 for risky text.
func (s *Server) serveMsgSecCheck(r *http.Request) any {
	if code := s.checkAccessToken(r); code != 0 {
		return errorAnswer(code)
	}
	var req struct {
		Content   string `json:"content"`
		Version   int    `json:"version"`
		Scene     int    `json:"scene"`
		OpenID    string `json:"openid"`
		Title     string `json:"title"`
		Nickname  string `json:"nickname"`
		Signature string `json:"signature"`
	}
	if code := decodeBody(r, &req); code != 0 {
		return errorAnswer(code)
	}
	text := strings.Join([]string{req.Content, req.Title, req.Nickname, req.Signature}, "\n")

	if req.Version != 2 {
		if req.Version != 0 && req.Version != 1 {
			return errorAnswer(40097)
		}
		if req.Content == "" {
			return errorAnswer(44004)
		}
		if suggest, _ := s.judge(text); suggest == "risky" {
			return errorAnswer(87014)
		}
		return okAnswer()
	}

	if !s.validOpenID(req.OpenID) {
		return errorAnswer(40003)
	}
	if req.Scene < 1 || req.Scene > 4 {
		return errorAnswer(40097)
	}
	if req.Content == "" {
		return errorAnswer(44004)
	}
	suggest, keyword := s.judge(text)
	answer := secCheckBody{errorBody: okAnswer(), TraceID: newTraceID()}
	switch suggest {
	case "risky":
		answer.Result = secVerdict{Suggest: "risky", Label: LabelPolitics}
	case "review":
		answer.Result = secVerdict{Suggest: "review", Label: LabelAd}
	default:
		answer.Result = secVerdict{Suggest: "pass", Label: LabelNormal}
	}
	answer.Detail = []secDetail{{Strategy: "content_model", Suggest: answer.Result.Suggest, Label: answer.Result.Label, Prob: 90}}
	if keyword != "" {
		answer.Detail = append(answer.Detail, secDetail{Strategy: "keyword", Suggest: answer.Result.Suggest, Label: answer.Result.Label, Level: 20, Keyword: keyword})
	}
	return answer
}

// judge returns "risky", "review" or "pass" for text and the word that
// decided it.
func (s *Server) judge(text string) (suggest, keyword string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lower := strings.ToLower(text)
	for _, w := range s.riskyWords {
		if w != "" && strings.Contains(lower, strings.ToLower(w)) {
			return "risky", w
		}
	}
	for _, w := range s.reviewWords {
		if w != "" && strings.Contains(lower, strings.ToLower(w)) {
			return "review", w
		}
	}
	return "pass", ""
}
