package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// bindJSON is the one way a handler reads a JSON body: exactly one JSON
// value (anything after it but whitespace is refused), no unknown fields,
// then the struct's `binding` rules. Every failure is a 4xx whose Chinese
// message names the field and the rule.
func bindJSON(c *gin.Context, v any) bool {
	if err := decodeJSON(c.Request.Body, v); err != nil {
		fail(c, err)
		return false
	}
	if err := binding.Validator.ValidateStruct(v); err != nil {
		fail(c, validationError(err))
		return false
	}
	return true
}

var (
	errTrailingJSON = louyuan.Invalid("bad_json", "请求内容只能是一个 JSON 值，其后不能再有其他内容")
	errBadTime      = louyuan.Invalid("bad_time", "时间格式不正确，应为 RFC 3339 格式，例如 2026-01-31T09:00:00+08:00")
)

func decodeJSON(body io.Reader, v any) error {
	if body == nil {
		return errBadJSON
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return errTooLarge
		}
		return errTrailingJSON
	}
	return nil
}

// jsonError turns a decoding error into a coded one.
func jsonError(err error) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		timeErr   *time.ParseError
		fieldErr  *louyuan.Error
	)
	switch {
	case errors.As(err, &maxErr):
		return errTooLarge
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errBadJSON
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return louyuan.Invalid("bad_json", "请求内容应为一个 JSON 对象")
		}
		return fieldError("bad_field_type", field, "类型不对，应为"+jsonKind(typeErr.Type))
	case errors.As(err, &timeErr):
		return errBadTime
	case errors.As(err, &fieldErr):
		return fieldErr
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return louyuan.Invalid("unknown_field", fmt.Sprintf("不认识的字段 %s，请删去它或检查拼写", name))
	}
	return errBadRequest
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "文本"
	case reflect.Bool:
		return " true 或 false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "整数"
	case reflect.Float32, reflect.Float64:
		return "数字"
	case reflect.Slice, reflect.Array:
		return "列表"
	}
	return "对象"
}

// fieldLabels are the Chinese names of request fields, for messages a clerk
// can act on. A field without one is named by its JSON name only.
var fieldLabels = map[string]string{
	"code": "登录凭证", "username": "用户名", "password": "密码", "refresh_token": "刷新凭证", "invite_code": "邀请码",
	"role": "身份或角色", "real_name": "真实姓名", "note": "备注", "candidate_user_id": "候选人", "approve": "是否同意",
	"reason": "理由", "household_ids": "房屋", "max_delegations_per_proxy": "每位受托人最多代理户数",
	"proxy_photo_required": "是否需要委托书照片", "principal_type": "授权对象类型", "principal_id": "授权对象编号",
	"scope_type": "范围类型", "scope_id": "范围编号", "title": "标题", "body": "正文", "subject": "表决事项",
	"rule": "表决规则", "custom": "自定义规则", "seats": "应选名额", "candidates": "候选人", "ballot_mode": "投票方式",
	"notice_days": "公示天数", "objection_days": "异议期天数", "opens_at": "开始投票时间", "closes_at": "截止时间",
	"household_id": "房屋", "options": "选项", "photo": "照片", "proxy_user_id": "受托人", "motion_id": "表决",
	"accept": "是否接受", "deadline": "截止时间", "target_households": "户数目标", "target_area": "面积目标",
	"unit_id": "单元", "total_fen": "总金额（分）", "coefficients": "分摊系数", "signature_file": "手写签名",
	"pledge_fen": "认缴金额（分）", "amount_fen": "金额（分）", "receipt_no": "收据号", "receipt_file": "收据照片",
	"paid_on": "缴费日期", "targets": "发送范围", "images": "图片", "results": "订阅结果",
	"participation_area": "参与面积比例", "participation_head": "参与人数比例", "approval_area": "同意面积比例",
	"approval_head": "同意人数比例",
}

// fieldName is how a message names a field: its Chinese label and JSON
// path, e.g. 「标题」(title).
func fieldName(path string) string {
	last := path
	if i := strings.LastIndexAny(path, ".]"); i >= 0 && i+1 < len(path) {
		last = path[i+1:]
	}
	if label, ok := fieldLabels[last]; ok {
		return fmt.Sprintf("「%s」(%s)", label, path)
	}
	return fmt.Sprintf("字段 %s", path)
}

// FieldProblem is one field that broke a rule, in error.details.
type FieldProblem struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Param   string `json:"param,omitempty"`
	Message string `json:"message"`
}

func fieldError(code, path, problem string) *louyuan.Error {
	msg := fieldName(path) + problem
	e := louyuan.Invalid(code, msg)
	e.Details = []FieldProblem{{Field: path, Rule: code, Message: msg}}
	return e
}

var useJSONNames sync.Once

// registerJSONNames makes the validator name fields by their JSON names.
func registerJSONNames() {
	useJSONNames.Do(func() {
		if v, ok := binding.Validator.Engine().(*validator.Validate); ok {
			v.RegisterTagNameFunc(func(f reflect.StructField) string {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" {
					return ""
				}
				if name == "" {
					return f.Name
				}
				return name
			})
		}
	})
}

// validationError turns the validator's errors into one coded error that
// names every field and its rule in Chinese.
func validationError(err error) error {
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) {
		return errBadRequest
	}
	problems := make([]FieldProblem, 0, len(ves))
	msgs := make([]string, 0, len(ves))
	for _, fe := range ves {
		path := fe.Namespace()
		if _, rest, ok := strings.Cut(path, "."); ok {
			path = rest // without the request type's name
		}
		msg := fieldName(path) + ruleText(fe)
		problems = append(problems, FieldProblem{Field: path, Rule: fe.Tag(), Param: fe.Param(), Message: msg})
		msgs = append(msgs, msg)
	}
	e := louyuan.Invalid("invalid_field", strings.Join(msgs, "；"))
	e.Details = problems
	return e
}

// ruleText says in Chinese what a rule wants.
func ruleText(fe validator.FieldError) string {
	p := fe.Param()
	kind := fe.Kind()
	text := kind == reflect.String
	list := kind == reflect.Slice || kind == reflect.Map || kind == reflect.Array
	switch fe.Tag() {
	case "required":
		return "必填"
	case "max":
		switch {
		case text:
			return "最大长度为 " + p + " 个字"
		case list:
			return "最多 " + p + " 项"
		}
		return "不能大于 " + p
	case "min":
		switch {
		case text:
			return "最小长度为 " + p + " 个字"
		case list:
			return "至少 " + p + " 项"
		}
		return "不能小于 " + p
	case "len":
		if list {
			return "须为 " + p + " 项"
		}
		return "长度须为 " + p + " 个字"
	case "oneof":
		return "取值之一：" + strings.Join(strings.Fields(p), "、")
	case "gt":
		return "须大于 " + p
	case "gte":
		return "须不小于 " + p
	case "lt":
		return "须小于 " + p
	case "lte":
		return "不能大于 " + p
	}
	return "不符合规则 " + fe.Tag()
}

// fractionJSON is a threshold as a request gives it: a string "2/3"
// (at least two thirds; "≥2/3" says the same) or ">1/2" (more than half),
// or the object {"num":2,"den":3,"strict":false} that answers show.
type fractionJSON struct {
	voting.Threshold
	bad string // what could not be read, reported by threshold
}

// UnmarshalJSON reads either form; a malformed one is reported with its
// field by threshold.
func (f *fractionJSON) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		t, ok := parseFraction(s)
		if !ok {
			f.bad = s
			return nil
		}
		f.Threshold = t
		return nil
	}
	var t struct {
		Num    *int64 `json:"num"`
		Den    *int64 `json:"den"`
		Strict bool   `json:"strict"`
	}
	if err := json.Unmarshal(b, &t); err != nil || t.Num == nil || t.Den == nil {
		f.bad = string(b)
		return nil
	}
	f.Threshold = voting.Threshold{Num: *t.Num, Den: *t.Den, Strict: t.Strict}
	return nil
}

func parseFraction(s string) (voting.Threshold, bool) {
	s = strings.TrimSpace(s)
	strict := false
	switch {
	case strings.HasPrefix(s, ">="):
		s = s[2:]
	case strings.HasPrefix(s, "≥"):
		s = strings.TrimPrefix(s, "≥")
	case strings.HasPrefix(s, ">"):
		s, strict = s[1:], true
	}
	var num, den int64
	var rest string
	if n, _ := fmt.Sscanf(strings.ReplaceAll(strings.TrimSpace(s), " ", "")+"|", "%d/%d%s", &num, &den, &rest); n != 3 || rest != "|" {
		return voting.Threshold{}, false
	}
	return voting.Threshold{Num: num, Den: den, Strict: strict}, true
}

// threshold converts a request's fraction, nil when absent; a malformed or
// out-of-range one is a field error.
func (f *fractionJSON) threshold(field string) (*voting.Threshold, error) {
	if f == nil {
		return nil, nil
	}
	if f.bad != "" || !f.Valid() {
		return nil, fieldError("bad_fraction", field, `须为 0 到 1 之间的分数，写作 "2/3"（达到三分之二，含本数）、">1/2"（超过半数）或 {"num":2,"den":3}`)
	}
	t := f.Threshold
	return &t, nil
}
