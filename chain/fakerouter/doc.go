// Package fakerouter is a faithful in-process fake of the Morpheus
// proxy-router (the consumer node, "C-Node") for tests and the local demo.
//
// It reproduces the wire behaviour described in spec/proxy-router.md §1–§3
// and implements the whole of §6: HTTP Basic auth on every route except
// /healthcheck, gin's plain-text "404 page not found" for unknown routes and
// wrong methods, coarse 500s with the exact error strings the real router
// produces, bare JSON numbers for *big.Int DTO fields next to quoted decimal
// strings for lib.BigInt fields, the session_id (underscore) header, the
// streaming quirks (one flush per SSE event, 500 with a text/event-stream
// content type, raw {"error":…} tails, [DONE] only in current), the per-session
// FIFO semaphore of v5.10+, non-cancellable slow opens that leave orphans, a
// controllable clock, per-bid failure modes (§6.4) and wallet-level failures.
//
// The package deliberately imports only the standard library and
// go-ethereum, never the gateway's own chain package, so that it is an
// independent implementation of the wire protocol: a bug in the gateway's
// client cannot hide behind shared code.
//
// # Quick start
//
//	r := fakerouter.New(fakerouter.Config{})
//	model := r.AddModel(fakerouter.Model{Name: "llama-3.3-70b", Tags: []string{"llm"}})
//	r.AddBid(model, fakerouter.Bid{Score: 0.9})
//	srv := r.Start() // *httptest.Server; defer srv.Close()
//
// The gateway then talks to srv.URL with Basic auth admin:fake.
//
// # Fidelity choices
//
//   - A missing sessionDuration makes the real router dereference a nil
//     pointer; it has no recovery middleware, so net/http drops the
//     connection. The fake does the same: it hijacks the connection and closes
//     it without writing a response (or panics with http.ErrAbortHandler when
//     the ResponseWriter cannot be hijacked).
//   - Chat replies are deterministic: "echo: <last user message>" (text parts
//     of a content-part array are concatenated). Streaming sends one chunk
//     with the assistant role, one chunk per word and a final chunk with
//     finish_reason "stop" and the usage keys. Token counts are word counts:
//     usage_from_consumer/usage_from_provider count the words of all message
//     contents (prompt) and of the reply (completion); the LLM's own "usage"
//     differs on purpose (prompt + 3 per message, completion + 1) so that
//     tests can tell which one a client bills on.
//   - Embeddings are derived from sha256 of each input (8 dimensions unless
//     "dimensions" is given), in [-1, 1).
//   - X-Request-Id is echoed (or generated) in current only; v4 predates it.
//   - TEE attestation (mode tee_fail) only applies to models tagged "tee", and
//     only in current (v4 had no TEE support).
//   - Closing early puts part of the stake on hold until the next UTC midnight
//     (§4.6 formula); closing at or after EndsAt refunds the full stake.
//   - Non-streaming requests in the die_midstream_* modes fail with
//     500 "provider request failed: invalid response: unexpected EOF".
package fakerouter
