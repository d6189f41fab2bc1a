// Package contracts holds SessionRouterMock, a test double of the read side of
// the Morpheus Diamond (getSession, getBid and the SessionOpened/SessionClosed
// events, with the real signatures and struct layouts), together with its
// compiled ABI/bytecode and the abigen Go binding.
//
// It exists for tests (go-ethereum's simulated backend): production code in
// package chain reads the real Diamond through its own minimal ABI fragment
// and does not import this package. The mock's test-only setters are named
// mock* and do not exist on the Diamond.
//
// Every file except SessionRouterMock.sol, generate.sh and this one is
// generated; regenerate them with
//
//	go generate ./chain/contracts/
//
// (which runs generate.sh; it needs node/npm and go, and pins solc-js and
// abigen versions).
package contracts

//go:generate bash generate.sh
