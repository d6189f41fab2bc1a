package morpheus

import (
	"context"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

func provisionApp(t *testing.T, a *App) error {
	t.Helper()
	if a.Router == nil {
		a.Router = &RouterConfig{Username: "admin", Password: "fake"}
	}
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	err := a.Provision(ctx)
	t.Cleanup(func() { _ = a.Cleanup() })
	return err
}

func TestAppProvisionExpandsAndValidatesSecrets(t *testing.T) {
	const fallback = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	t.Setenv("T_ENC", strings.Repeat("ab", 32))
	t.Setenv("T_FALLBACK", fallback)
	t.Setenv("T_ROUTER", "http://10.1.2.3:9999")
	t.Setenv("T_PASS", "pw")
	a := &App{
		JWTSecret:          "static",
		EncryptionKey:      "{env.T_ENC}",
		FallbackPrivateKey: "{env.T_FALLBACK}",
		Router:             &RouterConfig{URL: "{env.T_ROUTER}", Username: "u", Password: "{env.T_PASS}"},
	}
	if err := provisionApp(t, a); err != nil {
		t.Fatal(err)
	}
	s := a.secrets
	if string(s.jwtSecret) != "static" || s.vault == nil || s.fallbackKey == nil ||
		s.routerURL.String() != "http://10.1.2.3:9999" || s.routerUser != "u" || s.routerPassword != "pw" {
		t.Fatalf("secrets not expanded as expected: vault=%v fallback=%v router=%v user=%q", s.vault, s.fallbackKey != nil, s.routerURL, s.routerUser)
	}
	if a.Store() == nil {
		t.Fatal("no store after Provision")
	}

	def := &App{}
	if err := provisionApp(t, def); err != nil {
		t.Fatal(err)
	}
	if def.secrets.routerURL.String() != DefaultRouterURL || def.secrets.vault != nil || def.secrets.fallbackKey != nil {
		t.Fatalf("defaults: %+v", def.secrets)
	}
}

func TestAppProvisionRejectsBadSecretsWithoutEchoingThem(t *testing.T) {
	for _, tc := range []struct {
		name string
		app  App
		want string
	}{
		{"short encryption key", App{EncryptionKey: "deadbeefsecret"}, "encryption_key"},
		{"bad fallback key", App{FallbackPrivateKey: "0xnothexsecret"}, "fallback_private_key"},
		{"zero fallback key", App{FallbackPrivateKey: strings.Repeat("0", 64)}, "fallback_private_key"},
		{"router not http", App{Router: &RouterConfig{URL: "ftp://secret-host", Username: "u", Password: "p"}}, "router"},
		{"router without credentials", App{Router: &RouterConfig{URL: "http://127.0.0.1:8082"}}, "router: username and password are required"},
		{"database scheme", App{DatabaseURL: "mysql://u:secretpw@h/db"}, "database_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.app
			err := provisionApp(t, &a)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to name %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error echoes the secret: %v", err)
			}
		})
	}
}

func TestAppChainReaderConfig(t *testing.T) {
	bad := App{Chain: &ChainConfig{RPCURL: "http://127.0.0.1:8545/secret-api-key"}}
	if err := provisionApp(t, &bad); err == nil || !strings.Contains(err.Error(), "needs diamond") {
		t.Fatalf("rpc_url without diamond: %v", err)
	}
	badAddr := App{Chain: &ChainConfig{Diamond: "0x12"}}
	if err := provisionApp(t, &badAddr); err == nil || !strings.Contains(err.Error(), "diamond") {
		t.Fatalf("bad diamond: %v", err)
	}
	good := App{Chain: &ChainConfig{RPCURL: "http://127.0.0.1:8545/secret-api-key", Diamond: "0xb8C55cD613af947E73E262F0d3C54b7211Af16CF"}}
	if err := provisionApp(t, &good); err != nil {
		t.Fatalf("valid chain config: %v", err)
	}
	if good.sess == nil || good.sess.onChain == nil {
		t.Fatal("no on-chain reader was built")
	}
}

// Two configs with the same settings (a reload) share the store, the
// caches and the session manager; the manager stops with the last of them.
func TestReloadSharesSessionManager(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	provision := func() *App {
		a := &App{Router: &RouterConfig{Username: "admin", Password: "fake"}, DefaultModel: "m"}
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		t.Cleanup(cancel)
		if err := a.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		return a
	}
	old, next := provision(), provision()
	if old.sess != next.sess || old.db != next.db {
		t.Fatal("a reload with the same settings built a new session manager or store")
	}
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if refs, ok := sessionPool.References(next.sessKey); !ok || refs != 1 {
		t.Fatalf("session manager references after the old config's cleanup: %d, %v", refs, ok)
	}
	if err := next.sessions.Start(); err != nil {
		t.Fatalf("the shared manager was stopped with the old config: %v", err)
	}
	if err := next.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, ok := sessionPool.References(next.sessKey); ok {
		t.Fatal("the session manager outlived its last config")
	}
}
