package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// TestNoSecretsInLogs runs the whole account flow with a Debug-level
// observer and checks that no password, API key (or its secret part), JWT
// or private key reaches the logs.
func TestNoSecretsInLogs(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		core, logs := observer.New(zapcore.DebugLevel)
		v := testVerifier()
		vault := newVault(t)
		e := newEnv(t, st, func(c *Config) {
			c.Logger = zap.New(core)
			c.Vault = vault
			c.Delegations = v
			c.LoginRate = RateLimit{Events: 3}
		})
		const password = "Sup3r-Secret-Passw0rd!"
		var secrets []string
		secrets = append(secrets, password)

		e.register("uma@example.com", password)
		pair := e.login("uma@example.com", password)
		r := e.request("POST", "/auth/refresh", map[string]any{"refresh_token": pair.RefreshToken}, "")
		wantStatus(t, r, http.StatusOK)
		var pair2 tokenPair
		r.decode(t, &pair2)
		secrets = append(secrets, pair.AccessToken, pair.RefreshToken, pair2.AccessToken, pair2.RefreshToken)
		for _, tok := range []string{pair.AccessToken, pair2.AccessToken} {
			secrets = append(secrets, tok[strings.LastIndex(tok, ".")+1:]) // the signature alone
		}
		access := pair2.AccessToken

		keyID, key := e.createKey(access, "logged")
		secrets = append(secrets, key, key[10:])
		wantStatus(t, e.request("GET", "/automation/settings", nil, bearer(key)), http.StatusOK)
		wantStatus(t, e.request("PUT", "/automation/settings", map[string]any{"session_duration": 120}, bearer(key)), http.StatusOK)
		// Failures log too: a wrong key, a wrong password, a bad private key.
		wantStatus(t, e.request("GET", "/automation/settings", nil, bearer(key[:10]+strings.Repeat("a", 64))), http.StatusUnauthorized)
		wantStatus(t, e.request("POST", "/auth/login", map[string]any{"email": "uma@example.com", "password": password + "x"}, ""), http.StatusUnauthorized)
		for i := 0; i < 3; i++ { // into the rate limit
			e.request("POST", "/auth/login", map[string]any{"email": "uma@example.com", "password": password}, "")
		}

		walletHex, _ := newWalletKey(t)
		secrets = append(secrets, walletHex, strings.ToUpper(walletHex), walletHex[:32], walletHex[32:])
		wantStatus(t, e.request("POST", "/auth/private-key", map[string]any{"private_key": "0x" + walletHex}, bearer(access)), http.StatusCreated)
		wantStatus(t, e.request("POST", "/auth/private-key", map[string]any{"private_key": walletHex + "zz"}, bearer(access)), http.StatusBadRequest)
		wantStatus(t, e.request("GET", "/auth/private-key", nil, bearer(access)), http.StatusOK)
		// A server with another vault logs the decryption warning.
		eWrong := newEnv(t, st, func(c *Config) { c.Logger = zap.New(core); c.Vault = newVault(t) })
		wantStatus(t, eWrong.request("GET", "/auth/private-key", nil, bearer(access)), http.StatusOK)

		dk, _ := crypto.GenerateKey()
		d := signDelegation(t, v, dk, testGateway, 7)
		wantStatus(t, e.request("POST", "/auth/delegation", map[string]any{"signed_delegation_data": d, "delegate_address": testGateway.Hex(),
			"expiry": e.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, bearer(access)), http.StatusOK)
		wantStatus(t, e.request("DELETE", fmt.Sprintf("/auth/keys/%d", keyID), nil, bearer(access)), http.StatusOK)
		wantStatus(t, e.request("DELETE", "/auth/private-key", nil, bearer(access)), http.StatusOK)

		entries := logs.All()
		if len(entries) == 0 {
			t.Fatal("nothing was logged: the test would prove nothing")
		}
		sawWarning := false
		for _, en := range entries {
			text := en.Message + " " + fmt.Sprint(en.ContextMap()) + " " + en.Caller.String() + " " + en.Stack
			lower := strings.ToLower(text)
			for _, s := range secrets {
				if strings.Contains(text, s) || strings.Contains(lower, strings.ToLower(s)) {
					t.Errorf("log entry %q (%v) contains a secret", en.Message, en.ContextMap())
				}
			}
			if en.Level == zapcore.WarnLevel && strings.Contains(en.Message, "private key") {
				sawWarning = true
			}
		}
		if !sawWarning {
			t.Error("no warning for the undecryptable private key")
		}
	})
}
