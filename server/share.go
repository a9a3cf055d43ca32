package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/louyuan/louyuan/internal/share"
	"github.com/louyuan/louyuan/internal/wechat"
)

// shareDecrypter adapts the WeChat client's share info decryption to
// share.Decrypter.
type shareDecrypter struct{ c *wechat.Client }

func (d shareDecrypter) ShareGroup(sessionKey, encryptedData, iv string) (string, time.Time, error) {
	info, err := d.c.DecryptShareInfo(sessionKey, encryptedData, iv)
	if errors.Is(err, wechat.ErrShareInfoOtherApp) {
		return "", time.Time{}, fmt.Errorf("%w: %w", share.ErrOtherApp, err)
	}
	return info.OpenGID, info.At, err
}

// fakeURLFile is where the embedded default writes the base URL of its
// built-in fake WeChat API, whose development-only route
// wechatfake.PathDevShareInfo, stands in for wx.getShareInfo when the
// mini-program's code runs outside WeChat (its contract test). The file and
// the route exist only while the built-in fake runs: never with a WeChat
// app configured.
const fakeURLFile = "fake-wechat-url"

func writeFakeURL(dataDir, url string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, fakeURLFile), []byte(url+"\n"), 0o600)
}
