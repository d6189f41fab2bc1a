package chain

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func testVaultKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, VaultKeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func newTestVault(t *testing.T, legacy string) (*Vault, []byte) {
	t.Helper()
	key := testVaultKey(t)
	v, err := NewVault(key, legacy)
	if err != nil {
		t.Fatal(err)
	}
	return v, key
}

// editMetadata decodes metadata, lets f change it and re-encodes it.
func editMetadata(t *testing.T, md json.RawMessage, f func(m map[string]any)) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(md, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNewVaultKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := NewVault(make([]byte, n), ""); err == nil {
			t.Errorf("NewVault accepted a %d-byte key", n)
		}
	}
}

func TestVaultGCMRoundTrip(t *testing.T) {
	v, key := newTestVault(t, "")
	ct, md, err := v.Encrypt("0X" + strings.ToUpper(testKeyHex))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte(testKeyHex)) {
		t.Fatal("ciphertext contains the plaintext")
	}
	var m struct {
		Algorithm string `json:"algorithm"`
		Nonce     string `json:"nonce"`
		Version   int    `json:"version"`
		KID       string `json:"kid"`
	}
	if err := json.Unmarshal(md, &m); err != nil {
		t.Fatal(err)
	}
	nonce, err := base64.StdEncoding.DecodeString(m.Nonce)
	if m.Algorithm != "aes-256-gcm" || err != nil || len(nonce) != 12 || m.Version != 1 {
		t.Fatalf("metadata = %s", md)
	}
	sum := sha256.Sum256(key)
	if m.KID != hex.EncodeToString(sum[:4]) || m.KID != v.KeyID() {
		t.Fatalf("kid = %q, want first 8 hex of SHA-256(key)", m.KID)
	}
	got, err := v.Decrypt(ct, md)
	if err != nil {
		t.Fatal(err)
	}
	if got != "0x"+testKeyHex {
		t.Fatalf("Decrypt returned a different (or non-canonical) key")
	}

	// A second encryption uses a fresh nonce.
	ct2, md2, err := v.Encrypt(testKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(ct, ct2) || bytes.Equal(md, md2) {
		t.Fatal("two encryptions of the same key are identical: nonce reused")
	}
}

func TestVaultEncryptRejectsInvalidKey(t *testing.T) {
	v, _ := newTestVault(t, "")
	for _, in := range []string{"", "0x1234", strings.Repeat("0", 64), "zz" + testKeyHex[2:]} {
		if _, _, err := v.Encrypt(in); !errors.Is(err, ErrInvalidPrivateKey) {
			t.Errorf("Encrypt(%d chars) error = %v, want ErrInvalidPrivateKey", len(in), err)
		}
	}
}

func TestVaultGCMTamper(t *testing.T) {
	v, _ := newTestVault(t, "")
	ct, md, err := v.Encrypt(testKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	otherNonce := make([]byte, 12)
	_, _ = rand.Read(otherNonce)

	cases := []struct {
		name string
		ct   []byte
		md   json.RawMessage
		want error
	}{
		{"ciphertext first byte", flip(ct, 0), md, ErrDecrypt},
		{"ciphertext tag byte", flip(ct, len(ct)-1), md, ErrDecrypt},
		{"ciphertext truncated", ct[:len(ct)-1], md, ErrDecrypt},
		{"ciphertext empty", nil, md, ErrDecrypt},
		{"nonce changed", ct, editMetadata(t, md, func(m map[string]any) {
			m["nonce"] = base64.StdEncoding.EncodeToString(otherNonce)
		}), ErrDecrypt},
		{"nonce wrong length", ct, editMetadata(t, md, func(m map[string]any) {
			m["nonce"] = base64.StdEncoding.EncodeToString(otherNonce[:8])
		}), ErrBadMetadata},
		{"nonce not base64", ct, editMetadata(t, md, func(m map[string]any) { m["nonce"] = "***" }), ErrBadMetadata},
		{"nonce missing", ct, editMetadata(t, md, func(m map[string]any) { delete(m, "nonce") }), ErrBadMetadata},
		{"version changed", ct, editMetadata(t, md, func(m map[string]any) { m["version"] = 2 }), ErrBadMetadata},
		{"algorithm changed", ct, editMetadata(t, md, func(m map[string]any) { m["algorithm"] = "aes-128-gcm" }), ErrBadMetadata},
		{"algorithm missing", ct, editMetadata(t, md, func(m map[string]any) { delete(m, "algorithm") }), ErrBadMetadata},
		{"kid changed", ct, editMetadata(t, md, func(m map[string]any) { m["kid"] = "00000000" }), ErrVaultKeyMismatch},
		{"metadata empty", ct, nil, ErrBadMetadata},
		{"metadata not JSON", ct, json.RawMessage(`{"algorithm":`), ErrBadMetadata},
		{"metadata array", ct, json.RawMessage(`[]`), ErrBadMetadata},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := v.Decrypt(c.ct, c.md)
			if !errors.Is(err, c.want) {
				t.Fatalf("Decrypt = (%d chars, %v), want %v", len(got), err, c.want)
			}
			assertNoSecret(t, err, testKeyHex)
		})
	}
}

func TestVaultWrongKey(t *testing.T) {
	v1, _ := newTestVault(t, "")
	v2, _ := newTestVault(t, "")
	ct, md, err := v1.Encrypt(testKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Decrypt(ct, md); !errors.Is(err, ErrVaultKeyMismatch) {
		t.Fatalf("other vault: %v, want ErrVaultKeyMismatch", err)
	}
	// Without the advisory kid the other key still fails, at authentication.
	noKID := editMetadata(t, md, func(m map[string]any) { delete(m, "kid") })
	if _, err := v2.Decrypt(ct, noKID); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("other vault without kid: %v, want ErrDecrypt", err)
	}
	if got, err := v1.Decrypt(ct, noKID); err != nil || got != "0x"+testKeyHex {
		t.Fatalf("own vault without kid: %v", err)
	}
}

// A blob sealed with the vault key for another purpose (other AAD) is refused.
func TestVaultAADBindsPurpose(t *testing.T) {
	key := testVaultKey(t)
	v, err := NewVault(key, "")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	ct := aead.Seal(nil, nonce, []byte("0x"+testKeyHex), []byte("morpheus:something_else:v1"))
	md := fmt.Sprintf(`{"algorithm":"aes-256-gcm","nonce":%q,"version":1}`, base64.StdEncoding.EncodeToString(nonce))
	if _, err := v.Decrypt(ct, json.RawMessage(md)); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Decrypt = %v, want ErrDecrypt", err)
	}
	ct = aead.Seal(nil, nonce, []byte("0x"+testKeyHex), []byte(vaultAAD))
	if got, err := v.Decrypt(ct, json.RawMessage(md)); err != nil || got != "0x"+testKeyHex {
		t.Fatalf("same blob with the right AAD: %v", err)
	}
}

// fernetEncryptForTest writes a Fernet token the way Python's
// cryptography.fernet.Fernet.encrypt does (base64url with padding).
func fernetEncryptForTest(t *testing.T, key, plaintext []byte) []byte {
	t.Helper()
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(iv); err != nil {
		t.Fatal(err)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	padded := append(bytes.Clone(plaintext), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(key[16:])
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)

	msg := []byte{0x80}
	msg = binary.BigEndian.AppendUint64(msg, uint64(time.Now().Unix()))
	msg = append(msg, iv...)
	msg = append(msg, ct...)
	h := hmac.New(sha256.New, key[:16])
	h.Write(msg)
	msg = h.Sum(msg)
	return []byte(base64.URLEncoding.EncodeToString(msg))
}

// legacyRowForTest encrypts plaintext as the reference's KeyVault did in local
// mode: random 16-byte salt, PBKDF2-HMAC-SHA256(master, salt, 100000, 32),
// Fernet.
func legacyRowForTest(t *testing.T, master, plaintext string) ([]byte, json.RawMessage) {
	t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	key, err := legacyFernetKey(master, salt)
	if err != nil {
		t.Fatal(err)
	}
	token := fernetEncryptForTest(t, key, []byte(plaintext))
	md, _ := json.Marshal(map[string]any{
		"salt":           base64.StdEncoding.EncodeToString(salt),
		"algorithm":      "fernet",
		"kdf":            "pbkdf2",
		"kdf_iterations": 100000,
		"key":            map[string]string{"provider": "local"},
	})
	return token, md
}

func TestVaultLegacyFernet(t *testing.T) {
	token, md := legacyRowForTest(t, "legacy-master", "0x"+testKeyHex)
	v, _ := newTestVault(t, "legacy-master")
	got, err := v.Decrypt(token, md)
	if err != nil {
		t.Fatal(err)
	}
	if got != "0x"+testKeyHex {
		t.Fatal("legacy row decrypted to a different key")
	}

	// Unpadded base64url and surrounding whitespace are tolerated.
	trimmed := append([]byte(" "), bytes.TrimRight(token, "=")...)
	if got, err := v.Decrypt(trimmed, md); err != nil || got != "0x"+testKeyHex {
		t.Fatalf("unpadded token: %v", err)
	}

	t.Run("wrong master secret", func(t *testing.T) {
		w, _ := newTestVault(t, "other-master")
		if _, err := w.Decrypt(token, md); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("got %v, want ErrDecrypt", err)
		}
	})
	t.Run("no master secret", func(t *testing.T) {
		w, _ := newTestVault(t, "")
		if _, err := w.Decrypt(token, md); !errors.Is(err, ErrNoLegacySecret) {
			t.Fatalf("got %v, want ErrNoLegacySecret", err)
		}
	})
	t.Run("tampered token", func(t *testing.T) {
		raw, _ := base64.URLEncoding.DecodeString(string(token))
		for _, i := range []int{0, 5, 20, 40, len(raw) - 1} {
			c := bytes.Clone(raw)
			c[i] ^= 0x01
			bad := []byte(base64.URLEncoding.EncodeToString(c))
			if _, err := v.Decrypt(bad, md); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("flip byte %d: got %v, want ErrDecrypt", i, err)
			}
		}
		for _, bad := range [][]byte{nil, []byte("gAAAA"), []byte("not base64 !!"), token[:len(token)-8]} {
			if _, err := v.Decrypt(bad, md); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("malformed token: got %v, want ErrDecrypt", err)
			}
		}
	})
	t.Run("salt changed", func(t *testing.T) {
		other := editMetadata(t, md, func(m map[string]any) {
			m["salt"] = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
		})
		if _, err := v.Decrypt(token, other); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("got %v, want ErrDecrypt", err)
		}
		missing := editMetadata(t, md, func(m map[string]any) { delete(m, "salt") })
		if _, err := v.Decrypt(token, missing); !errors.Is(err, ErrBadMetadata) {
			t.Fatalf("no salt: got %v, want ErrBadMetadata", err)
		}
	})
}

// Produced once with Python's cryptography 48.0.0 exactly as the reference's
// core/key_vault.py does in local mode (master secret "legacy-master"):
//
//	kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=100000)
//	key = base64.urlsafe_b64encode(kdf.derive(b"legacy-master"))
//	token = Fernet(key).encrypt(b"0x4c08…2318")
const (
	pythonFernetToken    = "gAAAAABrCel0nWZlQ91w22x1TjkzKugCSxqcjQxz6zrs5LS0h1V8kE_LKdY03yigcwuMm_5iayvEriXDtCDl8LZO2_j2jFhwfJ0Q4Z4kJCNJoaGnicSfA-WRRXS1UiCnDtGD3_qNbTHSCO3u-gRfaXZPRYjYBGZCMumtZwMSE8IUMeVy5UKfhKI="
	pythonFernetMetadata = `{"salt": "fVOZ7/6fV3ifT4dWXI1svQ==", "algorithm": "fernet", "kdf": "pbkdf2", "kdf_iterations": 100000, "key": {"provider": "local"}}`
)

func TestVaultLegacyFernetPythonVector(t *testing.T) {
	v, _ := newTestVault(t, "legacy-master")
	got, err := v.Decrypt([]byte(pythonFernetToken), json.RawMessage(pythonFernetMetadata))
	if err != nil {
		t.Fatal(err)
	}
	if got != "0x"+testKeyHex {
		t.Fatal("python vector decrypted to a different key")
	}
	k, err := ParsePrivateKey(got)
	if err != nil || Address(k).Hex() != testKeyAddress {
		t.Fatalf("decrypted key does not parse to the expected address: %v", err)
	}
}

func TestVaultKMSRows(t *testing.T) {
	v, _ := newTestVault(t, "legacy-master")
	token, _ := legacyRowForTest(t, "legacy-master", "0x"+testKeyHex)
	md := json.RawMessage(`{"salt":"fVOZ7/6fV3ifT4dWXI1svQ==","algorithm":"fernet","kdf":"pbkdf2","kdf_iterations":100000,` +
		`"key":{"provider":"aws-kms","encrypted_key":"AQIDBA==","kms_key_id":"alias/morpheus"}}`)
	_, err := v.Decrypt(token, md)
	if !errors.Is(err, ErrKMSEncrypted) {
		t.Fatalf("got %v, want ErrKMSEncrypted", err)
	}
	if !strings.Contains(err.Error(), "KMS") {
		t.Errorf("error %q does not say KMS", err)
	}
	other := json.RawMessage(`{"algorithm":"fernet","salt":"AAAA","key":{"provider":"gcp-kms"}}`)
	if _, err := v.Decrypt(token, other); !errors.Is(err, ErrBadMetadata) {
		t.Fatalf("unknown provider: got %v, want ErrBadMetadata", err)
	}
}

func TestVaultUnknownAlgorithm(t *testing.T) {
	v, _ := newTestVault(t, "legacy-master")
	for _, md := range []string{`{"algorithm":"rot13"}`, `{}`, `null`, `{"algorithm":"AES-256-GCM","nonce":"AAAAAAAAAAAAAAAA","version":1}`} {
		if _, err := v.Decrypt([]byte("x"), json.RawMessage(md)); !errors.Is(err, ErrBadMetadata) {
			t.Errorf("metadata %s: got %v, want ErrBadMetadata", md, err)
		}
	}
}

func TestVaultDoesNotPrintSecrets(t *testing.T) {
	key := testVaultKey(t)
	v, err := NewVault(key, "legacy-master-secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, v)
		if strings.Contains(out, "legacy-master-secret") || strings.Contains(out, hex.EncodeToString(key)) ||
			strings.Contains(out, string(key)) || !strings.Contains(out, v.KeyID()) {
			t.Errorf("fmt %s of Vault = %q", format, out)
		}
	}
}

func TestDecodeVaultKey(t *testing.T) {
	key := testVaultKey(t)
	for _, in := range []string{
		hex.EncodeToString(key),
		"0x" + strings.ToUpper(hex.EncodeToString(key)),
		base64.StdEncoding.EncodeToString(key),
		base64.RawStdEncoding.EncodeToString(key),
		base64.URLEncoding.EncodeToString(key),
		" " + base64.RawURLEncoding.EncodeToString(key) + "\n",
	} {
		got, err := DecodeVaultKey(in)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("DecodeVaultKey: %v", err)
		}
	}
	for _, in := range []string{"", "secret", hex.EncodeToString(key[:16]), base64.StdEncoding.EncodeToString(key[:31]), "zz" + hex.EncodeToString(key)[2:]} {
		_, err := DecodeVaultKey(in)
		if err == nil {
			t.Errorf("DecodeVaultKey accepted %d chars", len(in))
			continue
		}
		if len(in) > 8 && strings.Contains(err.Error(), in[2:10]) {
			t.Errorf("error %q echoes the input", err)
		}
	}
}

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(s)) {
			t.Errorf("error %q contains a secret", err)
		}
	}
}
