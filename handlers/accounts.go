package handlers

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

const (
	minPasswordBytes = 8
	maxPasswordBytes = 72 // bcrypt uses at most 72 bytes
	maxEmailLen      = 254
	maxNameLen       = 255
)

type registerRequest struct {
	Email    string  `json:"email"`
	Password string  `json:"password"`
	Name     *string `json:"name"`
}

type userReply struct {
	ID       int64   `json:"id"`
	Email    string  `json:"email"`
	Name     *string `json:"name"`
	IsActive bool    `json:"is_active"`
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// normalizeEmail trims and lower-cases an email: addresses are stored and
// looked up in this form, so Bob@x.io and bob@x.io are one account.
func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validateEmail is a basic check: one @, non-empty local part and domain,
// no spaces or control characters, at most 254 bytes. It returns the reason
// or "".
func validateEmail(e string) string {
	switch {
	case e == "":
		return "email is required"
	case len(e) > maxEmailLen:
		return "email must be at most 254 characters"
	case !utf8.ValidString(e):
		return "email is not valid UTF-8"
	}
	for _, c := range e {
		if c <= ' ' || c == 0x7f {
			return "email must not contain spaces or control characters"
		}
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || strings.Contains(domain, "@") {
		return "email must contain exactly one @"
	}
	if local == "" || domain == "" {
		return "email must have a non-empty local part and domain"
	}
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "email has an invalid domain"
	}
	return ""
}

// validatePassword checks the length of a new password.
func validatePassword(p string) string {
	if len(p) < minPasswordBytes || len(p) > maxPasswordBytes {
		return "password must be 8 to 72 bytes long (72 bytes is bcrypt's limit)"
	}
	return ""
}

// register creates a user: POST /auth/register.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if s.rateLimited(w, r, s.registerLim) {
		return
	}
	var req registerRequest
	if !decodeJSON(w, r, accountBodyLimit, false, &req) {
		return
	}
	email := normalizeEmail(req.Email)
	if msg := validateEmail(email); msg != "" {
		badRequest(w, "email", msg)
		return
	}
	if msg := validatePassword(req.Password); msg != "" {
		badRequest(w, "password", msg)
		return
	}
	var name string
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
		if utf8.RuneCountInString(name) > maxNameLen || strings.ContainsRune(name, 0) {
			badRequest(w, "name", "name must be at most 255 characters, without NUL")
			return
		}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(req.Password), s.cfg.BcryptCost)
	if err != nil {
		s.internalError(w, r, "hashing a password", err)
		return
	}
	u, err := s.cfg.Store.CreateUser(r.Context(), store.NewUser{Name: name, Email: email, HashedPassword: string(hash)})
	if errors.Is(err, store.ErrDuplicateEmail) {
		WriteError(w, http.StatusConflict, TypeInvalidRequest, "email_taken", "email", "User with this email already exists")
		return
	}
	if err != nil {
		s.internalError(w, r, "creating a user", err)
		return
	}
	s.cfg.Logger.Info("user registered", zap.Int64("user_id", u.ID))
	writeJSON(w, http.StatusCreated, userReply{ID: u.ID, Email: u.Email, Name: optString(u.Name), IsActive: u.IsActive})
}

// dummyHash is a bcrypt hash compared against when the email is unknown,
// so that an unknown email takes as long as a wrong password.
type dummyHash struct {
	cost int
	once sync.Once
	hash []byte
}

func (d *dummyHash) get() []byte {
	d.once.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte("morpheus-gateway-dummy-password"), d.cost)
		if err != nil {
			h, _ = bcrypt.GenerateFromPassword([]byte("morpheus-gateway-dummy-password"), bcrypt.DefaultCost)
		}
		d.hash = h
	})
	return d.hash
}

// checkPassword compares a password with a bcrypt hash. Like the
// reference's bcrypt, only the first 72 bytes count, so users whose longer
// passwords were hashed by the reference can still log in.
func checkPassword(hash []byte, password string) bool {
	p := []byte(password)
	if len(p) > maxPasswordBytes {
		p = p[:maxPasswordBytes]
	}
	return bcrypt.CompareHashAndPassword(hash, p) == nil
}

// login checks email and password and issues a token pair: POST /auth/login.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.rateLimited(w, r, s.loginLimit) {
		return
	}
	var req loginRequest
	if !decodeJSON(w, r, accountBodyLimit, false, &req) {
		return
	}
	email := normalizeEmail(req.Email)
	if email == "" {
		badRequest(w, "email", "email is required")
		return
	}
	if req.Password == "" {
		badRequest(w, "password", "password is required")
		return
	}
	if !s.jwtConfigured() {
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "jwt_not_configured", "", errJWTNotConfigured)
		return
	}
	u, err := s.cfg.Store.UserByEmail(r.Context(), email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		checkPassword(s.dummyHash.get(), req.Password)
		unauthorized(w, "invalid_credentials", "Incorrect email or password")
		return
	case err != nil:
		s.internalError(w, r, "looking up a user", err)
		return
	}
	hash := u.HashedPassword
	if hash == "" {
		hash = string(s.dummyHash.get())
	}
	if !checkPassword([]byte(hash), req.Password) || u.HashedPassword == "" || !u.IsActive {
		unauthorized(w, "invalid_credentials", "Incorrect email or password")
		return
	}
	pair, err := s.issuePair(u.ID)
	if err != nil {
		s.internalError(w, r, "signing tokens", err)
		return
	}
	s.cfg.Logger.Info("user logged in", zap.Int64("user_id", u.ID))
	writeJSON(w, http.StatusOK, pair)
}

// refresh exchanges a refresh token for a new pair: POST /auth/refresh.
// The old refresh token stays valid until it expires (no rotation tracking,
// as in the reference).
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	var req refreshRequest
	if !decodeJSON(w, r, accountBodyLimit, false, &req) {
		return
	}
	tok := strings.TrimSpace(req.RefreshToken)
	if tok == "" {
		badRequest(w, "refresh_token", "refresh_token is required")
		return
	}
	u, ok := s.tokenUser(w, r, tok, tokenRefresh)
	if !ok {
		return
	}
	pair, err := s.issuePair(u.ID)
	if err != nil {
		s.internalError(w, r, "signing tokens", err)
		return
	}
	writeJSON(w, http.StatusOK, pair)
}
