package wechatfake

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Share info: a card shared with wx.shareAppMessage and withShareTicket
// gives whoever opens it from a group a shareTicket; wx.getShareInfo turns
// the ticket into encryptedData and iv. The plain text is
// {"openGId": "<group id in this app>", "watermark": {"timestamp": <unix>,
// "appid": "<appid>"}}, encrypted with AES-128-CBC and PKCS#7 padding under
// the user's current session_key (base64 of the 16-byte key) and a random
// 16-byte iv, both base64 — the format of every encrypted open-data answer
// (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/signature.html).
// The client never sees its session key, so only the server can decrypt.

// PathDevShareInfo is not a WeChat path: it is the fake's development-only
// stand-in for wx.getShareInfo, for tests that run the mini-program's code
// outside WeChat (the contract test). POST {"handle" or "openid", "group"
// or "open_gid"} answers {"errMsg": "getShareInfo:ok", "encryptedData",
// "iv"} for that user's current session key. Only the fake serves it, and
// the fake runs only in tests and in the embedded default (no WeChat appid
// configured) — never beside the real WeChat API.
const PathDevShareInfo = "/louyuan-fake/share-info"

// ErrNoSession is returned by ShareInfo for a user who has not logged in
// (code2session) since the fake started or was reset.
var ErrNoSession = errors.New("wechatfake: the user has no session key (no login yet)")

// GroupID returns the openGId of the WeChat group called name, as this app
// sees it: stable per app and group, 28 characters starting with "tG".
func (s *Server) GroupID(name string) string {
	h := sha256.Sum256([]byte(s.appID + "\x00group\x00" + name))
	return "tG" + base64.RawURLEncoding.EncodeToString(h[:])[:26]
}

// SessionKey returns the session_key of openID's latest login.
func (s *Server) SessionKey(openID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.sessionKeys[openID]
	return k, ok
}

// ShareInfo is what wx.getShareInfo answers in the mini-program of the user
// with openID for a card opened from the group openGID: the encrypted share
// info under the user's current session key, watermarked with the fake's
// appid and the current time.
func (s *Server) ShareInfo(openID, openGID string) (encryptedData, iv string, err error) {
	key, ok := s.SessionKey(openID)
	if !ok {
		return "", "", ErrNoSession
	}
	return EncryptShareInfo(key, s.appID, openGID, s.now().Unix())
}

// EncryptShareInfo encrypts the share info of group openGID for an app and
// session key, watermarked with timestamp (Unix seconds). Tests use it to
// make stale info or info of another app.
func EncryptShareInfo(sessionKey, appID, openGID string, timestamp int64) (encryptedData, iv string, err error) {
	plain, err := json.Marshal(struct {
		OpenGID   string    `json:"openGId"`
		Watermark watermark `json:"watermark"`
	}{openGID, watermark{Timestamp: timestamp, AppID: appID}})
	if err != nil {
		return "", "", err
	}
	return EncryptData(sessionKey, plain)
}

// EncryptData encrypts plain as WeChat encrypts open data: AES-128-CBC with
// PKCS#7 padding, the key the base64 session key, a random iv; both results
// base64 (standard, padded).
func EncryptData(sessionKey string, plain []byte) (encryptedData, iv string, err error) {
	key, err := base64.StdEncoding.DecodeString(sessionKey)
	if err != nil || len(key) != 16 {
		return "", "", fmt.Errorf("wechatfake: session key is not base64 of 16 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", "", err
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	data := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	ivBytes := make([]byte, aes.BlockSize)
	if _, err := rand.Read(ivBytes); err != nil {
		return "", "", err
	}
	cipher.NewCBCEncrypter(block, ivBytes).CryptBlocks(data, data)
	return base64.StdEncoding.EncodeToString(data), base64.StdEncoding.EncodeToString(ivBytes), nil
}

// serveDevShareInfo is PathDevShareInfo.
func (s *Server) serveDevShareInfo(w http.ResponseWriter, r *http.Request) {
	answer := func(status int, body map[string]string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
	if r.Method != http.MethodPost {
		answer(http.StatusMethodNotAllowed, map[string]string{"errMsg": "getShareInfo:fail POST only"})
		return
	}
	var req struct {
		Handle  string `json:"handle"`
		OpenID  string `json:"openid"`
		Group   string `json:"group"`
		OpenGID string `json:"open_gid"`
	}
	if code := decodeBody(r, &req); code != 0 {
		answer(http.StatusBadRequest, map[string]string{"errMsg": "getShareInfo:fail bad JSON body"})
		return
	}
	openID, gid := req.OpenID, req.OpenGID
	if openID == "" && validHandle(req.Handle) {
		openID = s.User(req.Handle).OpenID
	}
	if gid == "" && req.Group != "" {
		gid = s.GroupID(req.Group)
	}
	if openID == "" || gid == "" {
		answer(http.StatusBadRequest, map[string]string{"errMsg": "getShareInfo:fail handle or openid, and group or open_gid, are required"})
		return
	}
	enc, iv, err := s.ShareInfo(openID, gid)
	if errors.Is(err, ErrNoSession) {
		answer(http.StatusNotFound, map[string]string{"errMsg": "getShareInfo:fail the user has not logged in"})
		return
	} else if err != nil {
		answer(http.StatusInternalServerError, map[string]string{"errMsg": "getShareInfo:fail " + err.Error()})
		return
	}
	s.logger.Debug("wechatfake: share info made", "path", PathDevShareInfo)
	answer(http.StatusOK, map[string]string{"errMsg": "getShareInfo:ok", "encryptedData": enc, "iv": iv})
}
