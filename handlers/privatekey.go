package handlers

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

const errVaultNotConfigured = "encryption_key is not configured: private keys cannot be stored"

// privateKeyRequest is the body of POST /auth/private-key. The key is a
// secret: it is never logged, echoed or returned.
type privateKeyRequest struct {
	PrivateKey *string `json:"private_key"`
}

type privateKeyStoredReply struct {
	Message string `json:"message"`
	Address string `json:"address"`
}

type privateKeyStatusReply struct {
	HasPrivateKey bool    `json:"has_private_key"`
	Address       *string `json:"address"`
	CreatedAt     *string `json:"created_at"`
	UpdatedAt     *string `json:"updated_at"`
}

// storePrivateKey validates, encrypts and stores the caller's wallet key,
// replacing any previous one: POST /auth/private-key.
func (s *Server) storePrivateKey(w http.ResponseWriter, r *http.Request, p Principal) {
	if s.cfg.Vault == nil {
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "encryption_not_configured", "", errVaultNotConfigured)
		return
	}
	var req privateKeyRequest
	if !decodeJSON(w, r, accountBodyLimit, false, &req) {
		return
	}
	if req.PrivateKey == nil || *req.PrivateKey == "" {
		badRequest(w, "private_key", "private_key is required")
		return
	}
	k, err := chain.ParsePrivateKey(*req.PrivateKey)
	if err != nil {
		// The error names what is wrong (length, position of a bad
		// character) without any of the key.
		badRequest(w, "private_key", "private_key: "+err.Error())
		return
	}
	ciphertext, metadata, err := s.cfg.Vault.Encrypt(chain.FormatPrivateKey(k))
	if err != nil {
		s.internalError(w, r, "encrypting a private key", err)
		return
	}
	if _, err := s.cfg.Store.UpsertPrivateKey(r.Context(), p.UserID, ciphertext, metadata); err != nil {
		s.internalError(w, r, "storing a private key", err)
		return
	}
	addr := chain.Address(k).Hex()
	s.cfg.Logger.Info("private key stored", zap.Int64("user_id", p.UserID), zap.String("address", addr))
	writeJSON(w, http.StatusCreated, privateKeyStoredReply{Message: "Private key stored successfully", Address: addr})
}

// privateKeyStatus tells whether the caller has a stored key, and its
// address: GET /auth/private-key.
func (s *Server) privateKeyStatus(w http.ResponseWriter, r *http.Request, p Principal) {
	row, err := s.cfg.Store.PrivateKey(r.Context(), p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusOK, privateKeyStatusReply{})
		return
	}
	if err != nil {
		s.internalError(w, r, "loading a private key", err)
		return
	}
	reply := privateKeyStatusReply{
		HasPrivateKey: true,
		CreatedAt:     optTimestamp(&row.CreatedAt),
		UpdatedAt:     optTimestamp(&row.UpdatedAt),
	}
	if s.cfg.Vault != nil {
		if addr, err := s.storedAddress(row); err != nil {
			// The vault's and the parser's errors carry no key material.
			s.cfg.Logger.Warn("stored private key cannot be used", zap.Int64("user_id", p.UserID), zap.Error(err))
		} else {
			reply.Address = &addr
		}
	}
	writeJSON(w, http.StatusOK, reply)
}

func (s *Server) storedAddress(row store.PrivateKey) (string, error) {
	plain, err := s.cfg.Vault.Decrypt(row.EncryptedPrivateKey, row.EncryptionMetadata)
	if err != nil {
		return "", err
	}
	k, err := chain.ParsePrivateKey(plain)
	if err != nil {
		return "", err
	}
	return chain.Address(k).Hex(), nil
}

// deletePrivateKey deletes the caller's stored key: DELETE /auth/private-key.
func (s *Server) deletePrivateKey(w http.ResponseWriter, r *http.Request, p Principal) {
	err := s.cfg.Store.DeletePrivateKey(r.Context(), p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, TypeNotFound, "private_key_not_found", "", "Private key not found")
		return
	}
	if err != nil {
		s.internalError(w, r, "deleting a private key", err)
		return
	}
	s.cfg.Logger.Info("private key deleted", zap.Int64("user_id", p.UserID))
	writeJSON(w, http.StatusOK, map[string]string{"message": "Private key deleted successfully"})
}
