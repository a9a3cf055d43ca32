package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	mpconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	mpcontext "github.com/silenceper/wechat/v2/miniprogram/context"
	"github.com/silenceper/wechat/v2/miniprogram/encryptor"

	"github.com/louyuan/louyuan/internal/wechat/wechatfake"
)

// The fake's share info is read by the SDK's own decrypter, exactly as a
// real answer of wx.getShareInfo would be, with the session key the login
// returned.
func TestFakeShareInfoDecryptsWithSDK(t *testing.T) {
	env := setup(t)
	c := env.client(2 * time.Second)
	s, err := c.Code2Session(context.Background(), "alice.share")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := fake.SessionKey(s.OpenID); !ok || got != s.SessionKey {
		t.Fatalf("fake.SessionKey = %v; want the key code2session answered", ok)
	}
	gid := fake.GroupID("铝厂小区业主群")
	if !strings.HasPrefix(gid, "tG") || len(gid) != 28 || gid != fake.GroupID("铝厂小区业主群") || gid == fake.GroupID("另一个群") {
		t.Fatalf("GroupID %q is not a stable openGId per group", gid)
	}
	enc, iv, err := fake.ShareInfo(s.OpenID, gid)
	if err != nil {
		t.Fatal(err)
	}

	// The SDK's encryptor itself, unwrapped.
	plain, err := encryptor.NewEncryptor(&mpcontext.Context{Config: &mpconfig.Config{AppID: fake.AppID()}}).Decrypt(s.SessionKey, enc, iv)
	if err != nil {
		t.Fatalf("SDK Decrypt: %v", err)
	}
	if plain.OpenGID != gid || plain.Watermark.AppID != fake.AppID() || time.Since(time.Unix(plain.Watermark.Timestamp, 0)) > time.Minute {
		t.Fatalf("SDK read %+v; want openGId %s watermarked now for %s", plain, gid, fake.AppID())
	}

	// The client's wrapper.
	info, err := c.DecryptShareInfo(s.SessionKey, enc, iv)
	if err != nil || info.OpenGID != gid || time.Since(info.At) > time.Minute {
		t.Fatalf("DecryptShareInfo = %+v, %v; want %s now", info, err, gid)
	}

	// A later login gives the user a new key: the old data no longer opens
	// with it, nor new data with the old key.
	s2, err := c.Code2Session(context.Background(), "alice.again")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DecryptShareInfo(s2.SessionKey, enc, iv); !errors.Is(err, ErrShareInfoInvalid) {
		t.Errorf("old share info with the new key: %v; want ErrShareInfoInvalid", err)
	}
	enc2, iv2, err := fake.ShareInfo(s.OpenID, gid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DecryptShareInfo(s.SessionKey, enc2, iv2); !errors.Is(err, ErrShareInfoInvalid) {
		t.Errorf("new share info with the old key: %v; want ErrShareInfoInvalid", err)
	}
	if info, err := c.DecryptShareInfo(s2.SessionKey, enc2, iv2); err != nil || info.OpenGID != gid {
		t.Errorf("new share info with the new key: %+v, %v", info, err)
	}
}

func TestDecryptShareInfoRefusesBadInput(t *testing.T) {
	key := "MDEyMzQ1Njc4OWFiY2RlZg==" // base64 of 16 bytes
	enc, iv, err := wechatfake.EncryptShareInfo(key, "wxother", "tGgroup", time.Now().Unix())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecryptShareInfo("wxmine", key, enc, iv); !errors.Is(err, ErrShareInfoOtherApp) {
		t.Errorf("other app's watermark: %v", err)
	}
	good, goodIV, _ := wechatfake.EncryptShareInfo(key, "wxmine", "tGgroup", time.Now().Unix())
	for _, tc := range []struct{ name, key, enc, iv string }{
		{"key not base64", "!!", good, goodIV},
		{"key of 32 bytes", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", good, goodIV},
		{"data not base64", key, "@@@", goodIV},
		{"data not whole blocks", key, "AAAAAAAAAAAAAAAAAAAA", goodIV}, // 15 bytes: the SDK would panic
		{"empty data", key, "", goodIV},
		{"iv short", key, good, "AAAA"},
		{"data too long", key, strings.Repeat("A", 8192), goodIV},
		{"wrong iv", key, good, "AAAAAAAAAAAAAAAAAAAAAA=="},
	} {
		_, err := DecryptShareInfo("wxmine", tc.key, tc.enc, tc.iv)
		if !errors.Is(err, ErrShareInfoInvalid) && !errors.Is(err, ErrShareInfoOtherApp) {
			t.Errorf("%s: %v; want ErrShareInfoInvalid", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), tc.key) && tc.key != "" {
			t.Errorf("%s: the error shows the session key", tc.name)
		}
	}
	// Data without an openGId (say, a phone number's) is not share info.
	noGroup, noGroupIV, _ := wechatfake.EncryptData(key, []byte(`{"phoneNumber":"13800000000","watermark":{"appid":"wxmine","timestamp":1}}`))
	if _, err := DecryptShareInfo("wxmine", key, noGroup, noGroupIV); !errors.Is(err, ErrShareInfoInvalid) {
		t.Errorf("data without openGId: %v", err)
	}
}

// The fake's development-only route answers as wx.getShareInfo does.
func TestFakeDevShareInfoRoute(t *testing.T) {
	env := setup(t)
	c := env.client(2 * time.Second)
	s, err := c.Code2Session(context.Background(), "dave.1")
	if err != nil {
		t.Fatal(err)
	}
	post := func(body string) (int, map[string]string) {
		res, err := http.Post(fakeURL+wechatfake.PathDevShareInfo, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var out map[string]string
		_ = json.Unmarshal(raw, &out)
		return res.StatusCode, out
	}
	status, out := post(`{"handle":"dave","group":"一号楼群"}`)
	if status != 200 || out["errMsg"] != "getShareInfo:ok" {
		t.Fatalf("dev share info: %d %v", status, out)
	}
	info, err := c.DecryptShareInfo(s.SessionKey, out["encryptedData"], out["iv"])
	if err != nil || info.OpenGID != fake.GroupID("一号楼群") {
		t.Fatalf("decrypt dev share info: %+v %v", info, err)
	}
	if status, _ := post(`{"handle":"nobody","group":"一号楼群"}`); status != 404 {
		t.Errorf("user never logged in: %d; want 404", status)
	}
	if status, _ := post(`{"handle":"dave"}`); status != 400 {
		t.Errorf("no group: %d; want 400", status)
	}
}
