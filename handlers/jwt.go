package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"

	"github.com/golang-jwt/jwt/v5"
)

// Token types, in the "type" claim.
const (
	tokenAccess  = "access"
	tokenRefresh = "refresh"
)

// errJWTNotConfigured is the message of the 503 answered when no JWT secret
// is configured.
const errJWTNotConfigured = "jwt_secret is not configured: login and JWT-authenticated endpoints are unavailable"

// errBadToken is the one error every token failure maps to: the reason is
// not told to the client (401 "Could not validate credentials").
var errBadToken = errors.New("invalid token")

// tokenClaims are the claims of the gateway's tokens: the reference's
// sub/type/exp, plus iat and a random jti.
type tokenClaims struct {
	Type string `json:"type"`
	jwt.RegisteredClaims
}

// tokenPair is the reply of login and refresh.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
}

func (s *Server) jwtConfigured() bool { return len(s.cfg.JWTSecret) > 0 }

// issueToken signs a token of the given type for the user.
func (s *Server) issueToken(userID int64, typ string) (string, error) {
	ttl := s.cfg.AccessTTL
	if typ == tokenRefresh {
		ttl = s.cfg.RefreshTTL
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	now := s.cfg.Now()
	claims := tokenClaims{
		Type: typ,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(userID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        hex.EncodeToString(jti[:]),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.cfg.JWTSecret)
}

// issuePair signs a new access and refresh token for the user.
func (s *Server) issuePair(userID int64) (tokenPair, error) {
	access, err := s.issueToken(userID, tokenAccess)
	if err != nil {
		return tokenPair{}, err
	}
	refresh, err := s.issueToken(userID, tokenRefresh)
	if err != nil {
		return tokenPair{}, err
	}
	return tokenPair{AccessToken: access, RefreshToken: refresh, TokenType: "bearer"}, nil
}

// parseToken verifies a token (HS256 only, exp required, 30s leeway) and
// returns its user id if its type is want. Every failure is errBadToken.
func (s *Server) parseToken(raw, want string) (int64, error) {
	var claims tokenClaims
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(jwtLeeway),
		jwt.WithTimeFunc(s.cfg.Now),
	)
	if _, err := p.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return s.cfg.JWTSecret, nil }); err != nil {
		return 0, errBadToken
	}
	if claims.Type != want {
		return 0, errBadToken
	}
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadToken
	}
	return id, nil
}
