package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

func TestRegister(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)

		r := e.request("POST", "/auth/register", map[string]any{"email": "  Alice@Example.COM ", "password": "password-123", "name": "Alice"}, "")
		wantStatus(t, r, http.StatusCreated)
		got := r.object(t)
		if got["email"] != "alice@example.com" || got["name"] != "Alice" || got["is_active"] != true || got["id"] == nil {
			t.Fatalf("reply %s", r.body)
		}
		if _, ok := got["hashed_password"]; ok {
			t.Fatal("reply leaks the hash")
		}
		u, err := st.UserByEmail(context.Background(), "alice@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.HashedPassword, "$2") || bcrypt.CompareHashAndPassword([]byte(u.HashedPassword), []byte("password-123")) != nil {
			t.Fatal("password not stored as bcrypt")
		}

		// No name: null.
		r = e.request("POST", "/auth/register", map[string]any{"email": "noname@example.com", "password": "password-123"}, "")
		wantStatus(t, r, http.StatusCreated)
		if got := r.object(t); got["name"] != nil {
			t.Fatalf("name = %v, want null", got["name"])
		}

		// Duplicates, also in another case.
		for _, email := range []string{"alice@example.com", "ALICE@example.com"} {
			r = e.request("POST", "/auth/register", map[string]any{"email": email, "password": "password-123"}, "")
			wantError(t, r, http.StatusConflict, TypeInvalidRequest, "email")
		}

		for _, tc := range []struct {
			name  string
			body  any
			param string
		}{
			{"no email", map[string]any{"password": "password-123"}, "email"},
			{"no at", map[string]any{"email": "alice.example.com", "password": "password-123"}, "email"},
			{"two ats", map[string]any{"email": "a@b@example.com", "password": "password-123"}, "email"},
			{"empty local", map[string]any{"email": "@example.com", "password": "password-123"}, "email"},
			{"empty domain", map[string]any{"email": "bob@", "password": "password-123"}, "email"},
			{"space", map[string]any{"email": "b ob@example.com", "password": "password-123"}, "email"},
			{"too long", map[string]any{"email": strings.Repeat("a", 250) + "@x.io", "password": "password-123"}, "email"},
			{"short password", map[string]any{"email": "bob@example.com", "password": "1234567"}, "password"},
			{"no password", map[string]any{"email": "bob@example.com"}, "password"},
			{"long password", map[string]any{"email": "bob@example.com", "password": strings.Repeat("p", 73)}, "password"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.request("POST", "/auth/register", tc.body, "")
				msg := wantError(t, r, http.StatusBadRequest, TypeInvalidRequest, tc.param)
				if strings.Contains(tc.name, "long password") && !strings.Contains(msg, "72") {
					t.Errorf("message %q does not mention bcrypt's 72-byte limit", msg)
				}
			})
		}
		// 72 bytes is fine.
		r = e.request("POST", "/auth/register", map[string]any{"email": "long@example.com", "password": strings.Repeat("p", 72)}, "")
		wantStatus(t, r, http.StatusCreated)

		// Unparseable JSON and wrong JSON types: 422.
		for _, tc := range []struct {
			name, body, param string
		}{
			{"malformed", `{"email":`, ""},
			{"not an object", `["a"]`, ""},
			{"empty", ``, ""},
			{"trailing data", `{"email":"x@y.z","password":"password-123"} {}`, ""},
			{"email number", `{"email":5,"password":"password-123"}`, "email"},
			{"password bool", `{"email":"x@y.z","password":true}`, "password"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.request("POST", "/auth/register", tc.body, "")
				wantError(t, r, http.StatusUnprocessableEntity, TypeInvalidRequest, tc.param)
			})
		}

		// Unknown fields are ignored.
		r = e.request("POST", "/auth/register", map[string]any{"email": "extra@example.com", "password": "password-123", "is_active": false, "x": 1}, "")
		wantStatus(t, r, http.StatusCreated)
		if r.object(t)["is_active"] != true {
			t.Fatal("is_active from the body was honoured")
		}

		// Huge body: 413.
		huge := `{"email":"huge@example.com","password":"password-123","name":"` + strings.Repeat("x", 2<<20) + `"}`
		r = e.request("POST", "/auth/register", huge, "")
		wantError(t, r, http.StatusRequestEntityTooLarge, TypeInvalidRequest, "")

		// Not JSON: 415.
		r = e.request("POST", "/auth/register", "email=a@b.c&password=password-123", "", func(r *http.Request) {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		})
		wantError(t, r, http.StatusUnsupportedMediaType, TypeInvalidRequest, "")
	})
}

func TestLogin(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		id := e.register("carol@example.com", "password-123")

		r := e.request("POST", "/auth/login", map[string]any{"email": " CAROL@example.com", "password": "password-123"}, "")
		wantStatus(t, r, http.StatusOK)
		var p tokenPair
		r.decode(t, &p)
		if p.TokenType != "bearer" || p.AccessToken == "" || p.RefreshToken == "" {
			t.Fatalf("reply %s", r.body)
		}
		now := e.clock.Now()
		for _, tc := range []struct {
			tok, typ string
			ttl      time.Duration
		}{{p.AccessToken, "access", 30 * time.Minute}, {p.RefreshToken, "refresh", 7 * 24 * time.Hour}} {
			claims := jwt.MapClaims{}
			tok, err := jwt.ParseWithClaims(tc.tok, claims, func(*jwt.Token) (any, error) { return testSecret, nil },
				jwt.WithTimeFunc(e.clock.Now))
			if err != nil {
				t.Fatalf("%s token: %v", tc.typ, err)
			}
			if tok.Method.Alg() != "HS256" {
				t.Errorf("alg %s", tok.Method.Alg())
			}
			if claims["sub"] != strconv.FormatInt(id, 10) || claims["type"] != tc.typ {
				t.Errorf("%s claims %v", tc.typ, claims)
			}
			if jti, _ := claims["jti"].(string); len(jti) < 16 {
				t.Errorf("jti %v", claims["jti"])
			}
			exp, _ := claims.GetExpirationTime()
			iat, _ := claims.GetIssuedAt()
			if exp == nil || iat == nil || exp.Sub(now.Add(tc.ttl)).Abs() > 2*time.Second || iat.Sub(now).Abs() > 2*time.Second {
				t.Errorf("%s exp/iat %v %v", tc.typ, exp, iat)
			}
		}

		wrong := e.request("POST", "/auth/login", map[string]any{"email": "carol@example.com", "password": "password-124"}, "")
		wrongMsg := wantError(t, wrong, http.StatusUnauthorized, TypeAuthentication, "")
		unknown := e.request("POST", "/auth/login", map[string]any{"email": "nobody@example.com", "password": "password-123"}, "")
		unknownMsg := wantError(t, unknown, http.StatusUnauthorized, TypeAuthentication, "")
		if wrongMsg != unknownMsg {
			t.Errorf("unknown email (%q) is distinguishable from a wrong password (%q)", unknownMsg, wrongMsg)
		}

		inactive := false
		if _, err := st.UpdateUser(context.Background(), id, store.UserUpdate{IsActive: &inactive}); err != nil {
			t.Fatal(err)
		}
		r = e.request("POST", "/auth/login", map[string]any{"email": "carol@example.com", "password": "password-123"}, "")
		if msg := wantError(t, r, http.StatusUnauthorized, TypeAuthentication, ""); msg != wrongMsg {
			t.Errorf("inactive user message %q differs from %q", msg, wrongMsg)
		}

		r = e.request("POST", "/auth/login", `{"email":"carol@example.com"`, "")
		wantError(t, r, http.StatusUnprocessableEntity, TypeInvalidRequest, "")
		r = e.request("POST", "/auth/login", map[string]any{"email": "carol@example.com"}, "")
		wantError(t, r, http.StatusBadRequest, TypeInvalidRequest, "password")
	})
}

func TestLoginRateLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *Config) {
			c.LoginRate = RateLimit{Events: 3, Window: time.Minute}
			c.RegisterRate = RateLimit{Events: 2, Window: time.Minute}
		})
		e.register("dave@example.com", "password-123")
		e.register("dave2@example.com", "password-123")
		r := e.request("POST", "/auth/register", map[string]any{"email": "dave3@example.com", "password": "password-123"}, "")
		wantError(t, r, http.StatusTooManyRequests, TypeRateLimit, "")

		body := map[string]any{"email": "dave@example.com", "password": "wrong-password"}
		for i := 0; i < 3; i++ {
			r := e.request("POST", "/auth/login", body, "")
			wantStatus(t, r, http.StatusUnauthorized)
		}
		r = e.request("POST", "/auth/login", body, "")
		wantError(t, r, http.StatusTooManyRequests, TypeRateLimit, "")
		ra, err := strconv.Atoi(r.hdr.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 20 {
			t.Fatalf("Retry-After = %q", r.hdr.Get("Retry-After"))
		}
		// Even the right password is refused while limited.
		r = e.request("POST", "/auth/login", map[string]any{"email": "dave@example.com", "password": "password-123"}, "")
		wantStatus(t, r, http.StatusTooManyRequests)

		// Another client IP has its own bucket.
		r = e.request("POST", "/auth/login", map[string]any{"email": "dave@example.com", "password": "password-123"}, "",
			func(r *http.Request) { r.RemoteAddr = "198.51.100.7:4444" })
		wantStatus(t, r, http.StatusOK)

		// A token comes back after Window/Events.
		e.clock.Advance(time.Duration(ra) * time.Second)
		r = e.request("POST", "/auth/login", map[string]any{"email": "dave@example.com", "password": "password-123"}, "")
		wantStatus(t, r, http.StatusOK)
	})
}

func TestLoginRateLimitUsesClientIP(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *Config) {
			c.LoginRate = RateLimit{Events: 1, Window: time.Minute}
			c.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
		})
		as := func(ip string) func(*http.Request) {
			return func(r *http.Request) { r.Header.Set("X-Test-Client", ip) }
		}
		body := map[string]any{"email": "x@example.com", "password": "password-123"}
		wantStatus(t, e.request("POST", "/auth/login", body, "", as("a")), http.StatusUnauthorized)
		wantStatus(t, e.request("POST", "/auth/login", body, "", as("a")), http.StatusTooManyRequests)
		wantStatus(t, e.request("POST", "/auth/login", body, "", as("b")), http.StatusUnauthorized)
	})
}

func TestRefresh(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		id := e.register("erin@example.com", "password-123")
		p := e.login("erin@example.com", "password-123")

		e.clock.Advance(time.Minute)
		r := e.request("POST", "/auth/refresh", map[string]any{"refresh_token": p.RefreshToken}, "")
		wantStatus(t, r, http.StatusOK)
		var p2 tokenPair
		r.decode(t, &p2)
		if p2.TokenType != "bearer" || p2.AccessToken == "" || p2.AccessToken == p.AccessToken || p2.RefreshToken == p.RefreshToken {
			t.Fatalf("refresh reply %s", r.body)
		}
		// The new access token works.
		wantStatus(t, e.request("GET", "/auth/keys", nil, bearer(p2.AccessToken)), http.StatusOK)

		// An access token is not a refresh token.
		r = e.request("POST", "/auth/refresh", map[string]any{"refresh_token": p.AccessToken}, "")
		wantError(t, r, http.StatusUnauthorized, TypeAuthentication, "")
		// Garbage, another secret.
		r = e.request("POST", "/auth/refresh", map[string]any{"refresh_token": "not.a.jwt"}, "")
		wantError(t, r, http.StatusUnauthorized, TypeAuthentication, "")
		forged := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": strconv.FormatInt(id, 10), "type": "refresh",
			"exp": e.clock.Now().Add(time.Hour).Unix()})
		fs, _ := forged.SignedString([]byte("another secret"))
		r = e.request("POST", "/auth/refresh", map[string]any{"refresh_token": fs}, "")
		wantError(t, r, http.StatusUnauthorized, TypeAuthentication, "")
		// No exp: refused.
		noExp := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": strconv.FormatInt(id, 10), "type": "refresh"})
		ns, _ := noExp.SignedString(testSecret)
		r = e.request("POST", "/auth/refresh", map[string]any{"refresh_token": ns}, "")
		wantError(t, r, http.StatusUnauthorized, TypeAuthentication, "")
		// Reference-shaped token (sub, type, exp; no iat, jti): accepted.
		ref := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": strconv.FormatInt(id, 10), "type": "refresh",
			"exp": e.clock.Now().Add(time.Hour).Unix()})
		rs, _ := ref.SignedString(testSecret)
		wantStatus(t, e.request("POST", "/auth/refresh", map[string]any{"refresh_token": rs}, ""), http.StatusOK)

		// Missing field: 400.
		r = e.request("POST", "/auth/refresh", map[string]any{}, "")
		wantError(t, r, http.StatusBadRequest, TypeInvalidRequest, "refresh_token")

		// Expired (7 days + leeway later).
		e.clock.Advance(7*24*time.Hour + time.Minute)
		r = e.request("POST", "/auth/refresh", map[string]any{"refresh_token": p2.RefreshToken}, "")
		wantError(t, r, http.StatusUnauthorized, TypeAuthentication, "")

		// Deactivated user.
		p3 := e.login("erin@example.com", "password-123")
		inactive := false
		if _, err := st.UpdateUser(context.Background(), id, store.UserUpdate{IsActive: &inactive}); err != nil {
			t.Fatal(err)
		}
		r = e.request("POST", "/auth/refresh", map[string]any{"refresh_token": p3.RefreshToken}, "")
		wantError(t, r, http.StatusUnauthorized, TypeAuthentication, "")
	})
}

// TestBcryptCost12 checks the production cost and compatibility with the
// reference's $2b$12$ hashes.
func TestBcryptCost12(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *Config) { c.BcryptCost = 0 }) // the default
		if e.srv.cfg.BcryptCost != 12 {
			t.Fatalf("default cost %d", e.srv.cfg.BcryptCost)
		}
		id := e.register("frank@example.com", "password-123")
		u, err := st.UserByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := bcrypt.Cost([]byte(u.HashedPassword)); err != nil || c != 12 {
			t.Fatalf("cost %d, %v", c, err)
		}

		// A hash as the reference (passlib) wrote it: $2b$12$.
		h, err := bcrypt.GenerateFromPassword([]byte("legacy-password"), 12)
		if err != nil {
			t.Fatal(err)
		}
		legacy := "$2b$" + strings.TrimPrefix(string(h), "$2a$")
		if !strings.HasPrefix(legacy, "$2b$12$") {
			t.Fatalf("hash %q", legacy)
		}
		if _, err := st.CreateUser(context.Background(), store.NewUser{Email: "legacy@example.com", HashedPassword: legacy}); err != nil {
			t.Fatal(err)
		}
		e.login("legacy@example.com", "legacy-password")
		r := e.request("POST", "/auth/login", map[string]any{"email": "legacy@example.com", "password": "legacy-passworD"}, "")
		wantStatus(t, r, http.StatusUnauthorized)
	})
}

func TestJWTSecretMissing(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *Config) { c.JWTSecret = nil })
		e.register("gina@example.com", "password-123")
		r := e.request("POST", "/auth/login", map[string]any{"email": "gina@example.com", "password": "password-123"}, "")
		if msg := wantError(t, r, http.StatusServiceUnavailable, TypeUnavailable, ""); !strings.Contains(msg, "jwt_secret is not configured") {
			t.Errorf("message %q", msg)
		}
		r = e.request("POST", "/auth/refresh", map[string]any{"refresh_token": "x.y.z"}, "")
		wantError(t, r, http.StatusServiceUnavailable, TypeUnavailable, "")
		r = e.request("GET", "/auth/keys", nil, bearer("x.y.z"))
		wantError(t, r, http.StatusServiceUnavailable, TypeUnavailable, "")
	})
}
