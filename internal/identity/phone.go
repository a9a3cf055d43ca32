package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// PhoneVault encrypts phone numbers at rest (AES-256-GCM), hashes them for
// look-up (HMAC-SHA256 under a key derived from the same secret) and masks
// them for display.
type PhoneVault struct {
	aead    cipher.AEAD
	hashKey []byte
}

// NewPhoneVault builds a vault from a 32-byte key.
func NewPhoneVault(key []byte) (*PhoneVault, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("phone key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("louyuan phone lookup"))
	return &PhoneVault{aead: aead, hashKey: m.Sum(nil)}, nil
}

// Seal encrypts phone; the nonce is stored in front of the ciphertext.
func (v *PhoneVault) Seal(phone string) ([]byte, error) {
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return v.aead.Seal(nonce, nonce, []byte(phone), nil), nil
}

// Open decrypts what Seal produced.
func (v *PhoneVault) Open(sealed []byte) (string, error) {
	n := v.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("sealed phone too short")
	}
	plain, err := v.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", fmt.Errorf("open sealed phone: %w", err)
	}
	return string(plain), nil
}

// Hash is a stable keyed hash of phone for look-ups.
func (v *PhoneVault) Hash(phone string) string {
	m := hmac.New(sha256.New, v.hashKey)
	m.Write([]byte(phone))
	return hex.EncodeToString(m.Sum(nil))
}

// MaskPhone shows the first three and last four digits: 138****1234.
func MaskPhone(phone string) string {
	r := []rune(phone)
	if len(r) < 8 {
		return "****"
	}
	return string(r[:3]) + "****" + string(r[len(r)-4:])
}
