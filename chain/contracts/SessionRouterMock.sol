// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// The structs live in interfaces with the upstream names, so that the ABI's
// internalType ("struct ISessionStorage.Session", "struct IBidStorage.Bid")
// matches the real Diamond too, not only the tuple types.
interface ISessionStorage {
    // ISessionStorage.Session, in the order of the real contract.
    struct Session {
        address user;
        bytes32 bidId;
        uint256 stake;
        bytes closeoutReceipt;
        uint256 closeoutType;
        uint256 providerWithdrawnAmount;
        uint128 openedAt;
        uint128 endsAt;
        uint128 closedAt;
        bool isActive;
        bool isDirectPaymentFromUser;
    }
}

interface IBidStorage {
    // IBidStorage.Bid, in the order of the real contract.
    struct Bid {
        address provider;
        bytes32 modelId;
        uint256 pricePerSecond;
        uint256 nonce;
        uint128 createdAt;
        uint128 deletedAt;
    }
}

/**
 * SessionRouterMock is a test double for the read side of the Morpheus Diamond
 * (EIP-2535; facets SessionRouter + Marketplace), written for the gateway's
 * tests. It is NOT the Morpheus contract and holds no funds.
 *
 * What must stay byte-for-byte compatible with the real Diamond
 * (spec/proxy-router.md §4.2, §4.4, §4.5; upstream
 * smart-contracts/contracts/interfaces/storage/I{Session,Bid}Storage.sol and
 * interfaces/facets/ISessionRouter.sol):
 *   - struct Session / struct Bid: field order, types and names,
 *   - getSession(bytes32) → selector 0x39b240bd,
 *   - getBid(bytes32)     → selector 0x91704e1e,
 *   - events SessionOpened / SessionClosed (address,bytes32,address; all indexed),
 *   - error SessionAlreadyClosed() → selector 0xe9fb372e.
 * chain/onchain_test.go checks these against the spec.
 *
 * Everything in the "TEST-ONLY" section below does not exist on the real
 * Diamond: sessions there are opened/closed with provider-signed approvals and
 * receipts (openSession/closeSession(bytes,bytes)). The test-only functions are
 * prefixed "mock" so they can never be confused with (or shadow the selectors
 * of) real Diamond functions.
 */
contract SessionRouterMock {
    // ISessionRouter events (same signatures, same indexed topics).
    event SessionOpened(address indexed user, bytes32 indexed sessionId, address indexed providerId);
    event SessionClosed(address indexed user, bytes32 indexed sessionId, address indexed providerId);

    // ISessionRouter error, reused by the test-only close.
    error SessionAlreadyClosed();

    mapping(bytes32 => ISessionStorage.Session) private _sessions;
    mapping(bytes32 => IBidStorage.Bid) private _bids;

    // ---------------------------------------------------------------------
    // Real Diamond read functions (same signatures and return layouts).
    // Unknown IDs return an all-zero struct, as on the Diamond.
    // ---------------------------------------------------------------------

    function getSession(bytes32 sessionId_) external view returns (ISessionStorage.Session memory) {
        return _sessions[sessionId_];
    }

    function getBid(bytes32 bidId_) external view returns (IBidStorage.Bid memory) {
        return _bids[bidId_];
    }

    // ---------------------------------------------------------------------
    // TEST-ONLY. Not part of the Morpheus Diamond. No access control.
    // ---------------------------------------------------------------------

    /// TEST-ONLY: store a bid so getSession's bidId resolves to a provider and model.
    function mockSetBid(
        bytes32 bidId_,
        address provider_,
        bytes32 modelId_,
        uint256 pricePerSecond_,
        uint256 nonce_,
        uint128 createdAt_
    ) external {
        _bids[bidId_] = IBidStorage.Bid(provider_, modelId_, pricePerSecond_, nonce_, createdAt_, 0);
    }

    /// TEST-ONLY: store an open session with explicit timestamps and emit
    /// SessionOpened(user, sessionId, bid.provider) like openSession does.
    function mockSetSession(
        bytes32 sessionId_,
        address user_,
        bytes32 bidId_,
        uint256 stake_,
        uint128 openedAt_,
        uint128 endsAt_,
        bool isDirectPaymentFromUser_
    ) external {
        ISessionStorage.Session storage s = _sessions[sessionId_];
        s.user = user_;
        s.bidId = bidId_;
        s.stake = stake_;
        s.openedAt = openedAt_;
        s.endsAt = endsAt_;
        s.closedAt = 0;
        s.isActive = true;
        s.isDirectPaymentFromUser = isDirectPaymentFromUser_;

        emit SessionOpened(user_, sessionId_, _bids[bidId_].provider);
    }

    /// TEST-ONLY: close a session at closedAt_ (0 means block.timestamp) and
    /// emit SessionClosed like closeSession does. Reverts SessionAlreadyClosed
    /// on a second close, as the real contract does.
    function mockCloseSession(bytes32 sessionId_, uint128 closedAt_) external {
        ISessionStorage.Session storage s = _sessions[sessionId_];
        if (s.closedAt != 0) {
            revert SessionAlreadyClosed();
        }
        s.closedAt = closedAt_ == 0 ? uint128(block.timestamp) : closedAt_;
        s.isActive = false;

        emit SessionClosed(s.user, sessionId_, _bids[s.bidId].provider);
    }
}
