package wechat

import (
	"crypto/aes"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/silenceper/wechat/v2/miniprogram/config"
	mpcontext "github.com/silenceper/wechat/v2/miniprogram/context"
	"github.com/silenceper/wechat/v2/miniprogram/encryptor"
)

// ErrShareInfoInvalid is returned, wrapped, when share info cannot be
// decrypted with the session key: not base64, the wrong key (the user
// logged in again since, so WeChat encrypted it with a newer key), or
// damaged data.
var ErrShareInfoInvalid = errors.New("wechat: share info cannot be decrypted with this session key")

// ErrShareInfoOtherApp is returned, wrapped, when share info decrypts but
// its watermark names another appid.
var ErrShareInfoOtherApp = errors.New("wechat: share info is watermarked for another app")

// ShareInfo is what wx.getShareInfo's encrypted data says.
type ShareInfo struct {
	OpenGID string    // the group's id in this app (openGId)
	At      time.Time // the watermark's timestamp: when WeChat made it
}

// maxEncryptedData bounds encryptedData; share info is well under 1 KB.
const maxEncryptedData = 4096

// DecryptShareInfo decrypts the encryptedData and iv that wx.getShareInfo
// gave the mini-program, with the user's session key from code2session,
// through the SDK's encryptor (AES-128-CBC, PKCS#7; the watermark's appid
// must be this app's). It makes no network call. The session key is never
// part of an error or a log line.
func (c *Client) DecryptShareInfo(sessionKey, encryptedData, iv string) (ShareInfo, error) {
	return DecryptShareInfo(c.cfg.AppID, sessionKey, encryptedData, iv)
}

// DecryptShareInfo is Client.DecryptShareInfo for an appid.
func DecryptShareInfo(appID, sessionKey, encryptedData, iv string) (ShareInfo, error) {
	// The SDK's decrypter panics on cipher text that is not whole AES
	// blocks, and accepts a key of any AES length: check the shapes first.
	key, err := base64.StdEncoding.DecodeString(sessionKey)
	if err != nil || len(key) != 16 {
		return ShareInfo{}, fmt.Errorf("%w: session key is not base64 of 16 bytes", ErrShareInfoInvalid)
	}
	if len(encryptedData) > maxEncryptedData {
		return ShareInfo{}, fmt.Errorf("%w: encryptedData too long", ErrShareInfoInvalid)
	}
	data, err := base64.StdEncoding.DecodeString(encryptedData)
	if err != nil || len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return ShareInfo{}, fmt.Errorf("%w: encryptedData is not base64 of whole AES blocks", ErrShareInfoInvalid)
	}
	if ivBytes, err := base64.StdEncoding.DecodeString(iv); err != nil || len(ivBytes) != aes.BlockSize {
		return ShareInfo{}, fmt.Errorf("%w: iv is not base64 of 16 bytes", ErrShareInfoInvalid)
	}
	dec := encryptor.NewEncryptor(&mpcontext.Context{Config: &config.Config{AppID: appID}})
	plain, err := dec.Decrypt(sessionKey, encryptedData, iv)
	switch {
	case errors.Is(err, encryptor.ErrAppIDNotMatch):
		return ShareInfo{}, ErrShareInfoOtherApp
	case err != nil:
		// Padding or JSON errors: say which kind, never the data.
		return ShareInfo{}, fmt.Errorf("%w (%T)", ErrShareInfoInvalid, err)
	case plain.OpenGID == "" || len(plain.OpenGID) > 64:
		return ShareInfo{}, fmt.Errorf("%w: no openGId in it", ErrShareInfoInvalid)
	}
	return ShareInfo{OpenGID: plain.OpenGID, At: time.Unix(plain.Watermark.Timestamp, 0).UTC()}, nil
}
