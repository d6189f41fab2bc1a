// Package chain holds everything in the gateway that touches the Morpheus
// network: wallet private keys (parsing, addresses, encryption at rest and the
// per-user/fallback resolution), EIP-712 verification of MetaMask Delegation
// Toolkit delegations, the proxy-router HTTP client (Router) with its error
// classifier and sanitizer, and direct contract reads.
//
// The gateway never signs transactions itself, and it never sends a private
// key to the proxy-router: the router signs every on-chain operation with
// its own wallet (no router version reads the reference's X-Private-Key
// header, spec proxy-router.md §0.1). Stored user keys are kept, encrypted,
// for a future in which they pay for their own sessions.
//
// # Secrets
//
// Private keys, vault keys and legacy master secrets must never be logged,
// echoed in errors or written to API responses. Every error produced by this
// package describes what is wrong with a key (its length, a bad character
// position, a failed authentication tag) without including the key or any
// part of it. Callers must keep it that way: log the error, never the input.
// Vault implements fmt.Stringer and fmt.GoStringer so that accidentally
// formatting it prints no key material.
//
// # Dependencies
//
// This package imports only go-ethereum and the standard library (golang.org/x/crypto
// is also allowed); it does not import the store package. Storage is reached
// through small function types (see KeyLookup) that the caller adapts.
package chain
