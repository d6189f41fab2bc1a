// Code generated - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package contracts

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = errors.New
	_ = big.NewInt
	_ = strings.NewReader
	_ = ethereum.NotFound
	_ = bind.Bind
	_ = common.Big1
	_ = types.BloomLookup
	_ = event.NewSubscription
	_ = abi.ConvertType
	_ = time.Tick
	_ = context.Background
)

// IBidStorageBid is an auto generated low-level Go binding around an user-defined struct.
type IBidStorageBid struct {
	Provider       common.Address
	ModelId        [32]byte
	PricePerSecond *big.Int
	Nonce          *big.Int
	CreatedAt      *big.Int
	DeletedAt      *big.Int
}

// ISessionStorageSession is an auto generated low-level Go binding around an user-defined struct.
type ISessionStorageSession struct {
	User                    common.Address
	BidId                   [32]byte
	Stake                   *big.Int
	CloseoutReceipt         []byte
	CloseoutType            *big.Int
	ProviderWithdrawnAmount *big.Int
	OpenedAt                *big.Int
	EndsAt                  *big.Int
	ClosedAt                *big.Int
	IsActive                bool
	IsDirectPaymentFromUser bool
}

// SessionRouterMockMetaData contains all meta data concerning the SessionRouterMock contract.
var SessionRouterMockMetaData = &bind.MetaData{
	ABI: "[{\"inputs\":[],\"name\":\"SessionAlreadyClosed\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"user\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"sessionId\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"providerId\",\"type\":\"address\"}],\"name\":\"SessionClosed\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"user\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"sessionId\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"providerId\",\"type\":\"address\"}],\"name\":\"SessionOpened\",\"type\":\"event\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"bidId_\",\"type\":\"bytes32\"}],\"name\":\"getBid\",\"outputs\":[{\"components\":[{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"modelId\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"pricePerSecond\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"nonce\",\"type\":\"uint256\"},{\"internalType\":\"uint128\",\"name\":\"createdAt\",\"type\":\"uint128\"},{\"internalType\":\"uint128\",\"name\":\"deletedAt\",\"type\":\"uint128\"}],\"internalType\":\"structIBidStorage.Bid\",\"name\":\"\",\"type\":\"tuple\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"sessionId_\",\"type\":\"bytes32\"}],\"name\":\"getSession\",\"outputs\":[{\"components\":[{\"internalType\":\"address\",\"name\":\"user\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"bidId\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"stake\",\"type\":\"uint256\"},{\"internalType\":\"bytes\",\"name\":\"closeoutReceipt\",\"type\":\"bytes\"},{\"internalType\":\"uint256\",\"name\":\"closeoutType\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"providerWithdrawnAmount\",\"type\":\"uint256\"},{\"internalType\":\"uint128\",\"name\":\"openedAt\",\"type\":\"uint128\"},{\"internalType\":\"uint128\",\"name\":\"endsAt\",\"type\":\"uint128\"},{\"internalType\":\"uint128\",\"name\":\"closedAt\",\"type\":\"uint128\"},{\"internalType\":\"bool\",\"name\":\"isActive\",\"type\":\"bool\"},{\"internalType\":\"bool\",\"name\":\"isDirectPaymentFromUser\",\"type\":\"bool\"}],\"internalType\":\"structISessionStorage.Session\",\"name\":\"\",\"type\":\"tuple\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"sessionId_\",\"type\":\"bytes32\"},{\"internalType\":\"uint128\",\"name\":\"closedAt_\",\"type\":\"uint128\"}],\"name\":\"mockCloseSession\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"bidId_\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"provider_\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"modelId_\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"pricePerSecond_\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"nonce_\",\"type\":\"uint256\"},{\"internalType\":\"uint128\",\"name\":\"createdAt_\",\"type\":\"uint128\"}],\"name\":\"mockSetBid\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"sessionId_\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"user_\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"bidId_\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"stake_\",\"type\":\"uint256\"},{\"internalType\":\"uint128\",\"name\":\"openedAt_\",\"type\":\"uint128\"},{\"internalType\":\"uint128\",\"name\":\"endsAt_\",\"type\":\"uint128\"},{\"internalType\":\"bool\",\"name\":\"isDirectPaymentFromUser_\",\"type\":\"bool\"}],\"name\":\"mockSetSession\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"}]",
	Bin: "0x6080604052348015600e575f5ffd5b506108388061001c5f395ff3fe608060405234801561000f575f5ffd5b5060043610610055575f3560e01c806339b240bd146100595780638da4b4561461008257806391704e1e14610097578063aa01a26b146101aa578063b0d057bd146101bd575b5f5ffd5b61006c610067366004610593565b610267565b60405161007991906105d8565b60405180910390f35b6100956100903660046106d8565b610400565b005b6101456100a5366004610593565b6040805160c0810182525f80825260208201819052918101829052606081018290526080810182905260a0810191909152505f90815260016020818152604092839020835160c08101855281546001600160a01b031681529281015491830191909152600281015492820192909252600382015460608201526004909101546001600160801b038082166080840152600160801b9091041660a082015290565b60405161007991905f60c08201905060018060a01b0383511682526020830151602083015260408301516040830152606083015160608301526001600160801b0360808401511660808301526001600160801b0360a08401511660a083015292915050565b6100956101b836600461074c565b6104c3565b6100956101cb366004610776565b6040805160c0810182526001600160a01b0396871681526020808201968752818301958652606082019485526001600160801b03938416608083019081525f60a084018181529a815260019283905293909320915182546001600160a01b03191698169790971781559451958501959095559151600284015551600383015591519251928216600160801b939092169290920217600490910155565b60408051610160810182525f808252602082018190529181018290526060808201526080810182905260a0810182905260c0810182905260e08101829052610100810182905261012081018290526101408101919091525f828152602081815260409182902082516101608101845281546001600160a01b03168152600182015492810192909252600281015492820192909252600382018054919291606084019190610313906107ca565b80601f016020809104026020016040519081016040528092919081815260200182805461033f906107ca565b801561038a5780601f106103615761010080835404028352916020019161038a565b820191905f5260205f20905b81548152906001019060200180831161036d57829003601f168201915b5050509183525050600482015460208201526005820154604082015260068201546001600160801b038082166060840152600160801b918290048116608084015260079093015492831660a083015260ff9083048116151560c0830152600160881b909204909116151560e09091015292915050565b5f8781526020818152604080832080546001600160a01b0319166001600160a01b038b8116918217835560018084018c9055600284018b90556001600160801b038a8116600160801b918b16820217600686015560078501805471ffffffffffffffffffffffffffffffffffff1916600160881b8b1515021790911790558b8752909452828520549251919492909316928b9290917f2bd7c890baf595977d256a6e784512c873ac58ba612b4895dbb7f784bfbf48399190a45050505050505050565b5f82815260208190526040902060078101546001600160801b0316156104fc576040516374fd9b9760e11b815260040160405180910390fd5b6001600160801b038216156105115781610513565b425b60078201805470ffffffffffffffffffffffffffffffffff19166001600160801b03929092169190911790556001808201545f908152602091909152604080822054835491516001600160a01b03918216938793909216917f337fbb0a41a596db800dc836595a57815f967185e3596615c646f2455ac3914a91a4505050565b5f602082840312156105a3575f5ffd5b5035919050565b5f81518084528060208401602086015e5f602082860101526020601f19601f83011685010191505092915050565b602081526105f26020820183516001600160a01b03169052565b60208201516040820152604082015160608201525f606083015161016060808401526106226101808401826105aa565b9050608084015160a084015260a084015160c084015260c084015161065260e08501826001600160801b03169052565b5060e08401516001600160801b038116610100850152506101008401516001600160801b0381166101208501525061012084015180151561014085015250610140840151801515610160850152509392505050565b80356001600160a01b03811681146106bd575f5ffd5b919050565b80356001600160801b03811681146106bd575f5ffd5b5f5f5f5f5f5f5f60e0888a0312156106ee575f5ffd5b873596506106fe602089016106a7565b9550604088013594506060880135935061071a608089016106c2565b925061072860a089016106c2565b915060c0880135801515811461073c575f5ffd5b8091505092959891949750929550565b5f5f6040838503121561075d575f5ffd5b8235915061076d602084016106c2565b90509250929050565b5f5f5f5f5f5f60c0878903121561078b575f5ffd5b8635955061079b602088016106a7565b94506040870135935060608701359250608087013591506107be60a088016106c2565b90509295509295509295565b600181811c908216806107de57607f821691505b6020821081036107fc57634e487b7160e01b5f52602260045260245ffd5b5091905056fea264697066735822122074b777c4db3bab55f6e03a094db80e8f88dd93c32f34dc60b1e02859bc548aed64736f6c634300081e0033",
}

// SessionRouterMockABI is the input ABI used to generate the binding from.
// Deprecated: Use SessionRouterMockMetaData.ABI instead.
var SessionRouterMockABI = SessionRouterMockMetaData.ABI

// SessionRouterMockBin is the compiled bytecode used for deploying new contracts.
// Deprecated: Use SessionRouterMockMetaData.Bin instead.
var SessionRouterMockBin = SessionRouterMockMetaData.Bin

// DeploySessionRouterMock deploys a new Ethereum contract, binding an instance of SessionRouterMock to it.
func DeploySessionRouterMock(auth *bind.TransactOpts, backend bind.ContractBackend) (common.Address, *types.Transaction, *SessionRouterMock, error) {
	parsed, err := SessionRouterMockMetaData.GetAbi()
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	if parsed == nil {
		return common.Address{}, nil, nil, errors.New("GetABI returned nil")
	}

	address, tx, contract, err := bind.DeployContract(auth, *parsed, common.FromHex(SessionRouterMockBin), backend)
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	return address, tx, &SessionRouterMock{SessionRouterMockCaller: SessionRouterMockCaller{contract: contract}, SessionRouterMockTransactor: SessionRouterMockTransactor{contract: contract}, SessionRouterMockFilterer: SessionRouterMockFilterer{contract: contract}}, nil
}

// SessionRouterMock is an auto generated Go binding around an Ethereum contract.
type SessionRouterMock struct {
	SessionRouterMockCaller     // Read-only binding to the contract
	SessionRouterMockTransactor // Write-only binding to the contract
	SessionRouterMockFilterer   // Log filterer for contract events
}

// SessionRouterMockCaller is an auto generated read-only Go binding around an Ethereum contract.
type SessionRouterMockCaller struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// SessionRouterMockTransactor is an auto generated write-only Go binding around an Ethereum contract.
type SessionRouterMockTransactor struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// SessionRouterMockFilterer is an auto generated log filtering Go binding around an Ethereum contract events.
type SessionRouterMockFilterer struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// SessionRouterMockSession is an auto generated Go binding around an Ethereum contract,
// with pre-set call and transact options.
type SessionRouterMockSession struct {
	Contract     *SessionRouterMock // Generic contract binding to set the session for
	CallOpts     bind.CallOpts      // Call options to use throughout this session
	TransactOpts bind.TransactOpts  // Transaction auth options to use throughout this session
}

// SessionRouterMockCallerSession is an auto generated read-only Go binding around an Ethereum contract,
// with pre-set call options.
type SessionRouterMockCallerSession struct {
	Contract *SessionRouterMockCaller // Generic contract caller binding to set the session for
	CallOpts bind.CallOpts            // Call options to use throughout this session
}

// SessionRouterMockTransactorSession is an auto generated write-only Go binding around an Ethereum contract,
// with pre-set transact options.
type SessionRouterMockTransactorSession struct {
	Contract     *SessionRouterMockTransactor // Generic contract transactor binding to set the session for
	TransactOpts bind.TransactOpts            // Transaction auth options to use throughout this session
}

// SessionRouterMockRaw is an auto generated low-level Go binding around an Ethereum contract.
type SessionRouterMockRaw struct {
	Contract *SessionRouterMock // Generic contract binding to access the raw methods on
}

// SessionRouterMockCallerRaw is an auto generated low-level read-only Go binding around an Ethereum contract.
type SessionRouterMockCallerRaw struct {
	Contract *SessionRouterMockCaller // Generic read-only contract binding to access the raw methods on
}

// SessionRouterMockTransactorRaw is an auto generated low-level write-only Go binding around an Ethereum contract.
type SessionRouterMockTransactorRaw struct {
	Contract *SessionRouterMockTransactor // Generic write-only contract binding to access the raw methods on
}

// NewSessionRouterMock creates a new instance of SessionRouterMock, bound to a specific deployed contract.
func NewSessionRouterMock(address common.Address, backend bind.ContractBackend) (*SessionRouterMock, error) {
	contract, err := bindSessionRouterMock(address, backend, backend, backend)
	if err != nil {
		return nil, err
	}
	return &SessionRouterMock{SessionRouterMockCaller: SessionRouterMockCaller{contract: contract}, SessionRouterMockTransactor: SessionRouterMockTransactor{contract: contract}, SessionRouterMockFilterer: SessionRouterMockFilterer{contract: contract}}, nil
}

// NewSessionRouterMockCaller creates a new read-only instance of SessionRouterMock, bound to a specific deployed contract.
func NewSessionRouterMockCaller(address common.Address, caller bind.ContractCaller) (*SessionRouterMockCaller, error) {
	contract, err := bindSessionRouterMock(address, caller, nil, nil)
	if err != nil {
		return nil, err
	}
	return &SessionRouterMockCaller{contract: contract}, nil
}

// NewSessionRouterMockTransactor creates a new write-only instance of SessionRouterMock, bound to a specific deployed contract.
func NewSessionRouterMockTransactor(address common.Address, transactor bind.ContractTransactor) (*SessionRouterMockTransactor, error) {
	contract, err := bindSessionRouterMock(address, nil, transactor, nil)
	if err != nil {
		return nil, err
	}
	return &SessionRouterMockTransactor{contract: contract}, nil
}

// NewSessionRouterMockFilterer creates a new log filterer instance of SessionRouterMock, bound to a specific deployed contract.
func NewSessionRouterMockFilterer(address common.Address, filterer bind.ContractFilterer) (*SessionRouterMockFilterer, error) {
	contract, err := bindSessionRouterMock(address, nil, nil, filterer)
	if err != nil {
		return nil, err
	}
	return &SessionRouterMockFilterer{contract: contract}, nil
}

// bindSessionRouterMock binds a generic wrapper to an already deployed contract.
func bindSessionRouterMock(address common.Address, caller bind.ContractCaller, transactor bind.ContractTransactor, filterer bind.ContractFilterer) (*bind.BoundContract, error) {
	parsed, err := SessionRouterMockMetaData.GetAbi()
	if err != nil {
		return nil, err
	}
	return bind.NewBoundContract(address, *parsed, caller, transactor, filterer), nil
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_SessionRouterMock *SessionRouterMockRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _SessionRouterMock.Contract.SessionRouterMockCaller.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_SessionRouterMock *SessionRouterMockRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _SessionRouterMock.Contract.SessionRouterMockTransactor.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_SessionRouterMock *SessionRouterMockRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _SessionRouterMock.Contract.SessionRouterMockTransactor.contract.Transact(opts, method, params...)
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_SessionRouterMock *SessionRouterMockCallerRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _SessionRouterMock.Contract.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_SessionRouterMock *SessionRouterMockTransactorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _SessionRouterMock.Contract.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_SessionRouterMock *SessionRouterMockTransactorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _SessionRouterMock.Contract.contract.Transact(opts, method, params...)
}

// GetBid is a free data retrieval call binding the contract method 0x91704e1e.
//
// Solidity: function getBid(bytes32 bidId_) view returns((address,bytes32,uint256,uint256,uint128,uint128))
func (_SessionRouterMock *SessionRouterMockCaller) GetBid(opts *bind.CallOpts, bidId_ [32]byte) (IBidStorageBid, error) {
	var out []interface{}
	err := _SessionRouterMock.contract.Call(opts, &out, "getBid", bidId_)

	if err != nil {
		return *new(IBidStorageBid), err
	}

	out0 := *abi.ConvertType(out[0], new(IBidStorageBid)).(*IBidStorageBid)

	return out0, err

}

// GetBid is a free data retrieval call binding the contract method 0x91704e1e.
//
// Solidity: function getBid(bytes32 bidId_) view returns((address,bytes32,uint256,uint256,uint128,uint128))
func (_SessionRouterMock *SessionRouterMockSession) GetBid(bidId_ [32]byte) (IBidStorageBid, error) {
	return _SessionRouterMock.Contract.GetBid(&_SessionRouterMock.CallOpts, bidId_)
}

// GetBid is a free data retrieval call binding the contract method 0x91704e1e.
//
// Solidity: function getBid(bytes32 bidId_) view returns((address,bytes32,uint256,uint256,uint128,uint128))
func (_SessionRouterMock *SessionRouterMockCallerSession) GetBid(bidId_ [32]byte) (IBidStorageBid, error) {
	return _SessionRouterMock.Contract.GetBid(&_SessionRouterMock.CallOpts, bidId_)
}

// GetSession is a free data retrieval call binding the contract method 0x39b240bd.
//
// Solidity: function getSession(bytes32 sessionId_) view returns((address,bytes32,uint256,bytes,uint256,uint256,uint128,uint128,uint128,bool,bool))
func (_SessionRouterMock *SessionRouterMockCaller) GetSession(opts *bind.CallOpts, sessionId_ [32]byte) (ISessionStorageSession, error) {
	var out []interface{}
	err := _SessionRouterMock.contract.Call(opts, &out, "getSession", sessionId_)

	if err != nil {
		return *new(ISessionStorageSession), err
	}

	out0 := *abi.ConvertType(out[0], new(ISessionStorageSession)).(*ISessionStorageSession)

	return out0, err

}

// GetSession is a free data retrieval call binding the contract method 0x39b240bd.
//
// Solidity: function getSession(bytes32 sessionId_) view returns((address,bytes32,uint256,bytes,uint256,uint256,uint128,uint128,uint128,bool,bool))
func (_SessionRouterMock *SessionRouterMockSession) GetSession(sessionId_ [32]byte) (ISessionStorageSession, error) {
	return _SessionRouterMock.Contract.GetSession(&_SessionRouterMock.CallOpts, sessionId_)
}

// GetSession is a free data retrieval call binding the contract method 0x39b240bd.
//
// Solidity: function getSession(bytes32 sessionId_) view returns((address,bytes32,uint256,bytes,uint256,uint256,uint128,uint128,uint128,bool,bool))
func (_SessionRouterMock *SessionRouterMockCallerSession) GetSession(sessionId_ [32]byte) (ISessionStorageSession, error) {
	return _SessionRouterMock.Contract.GetSession(&_SessionRouterMock.CallOpts, sessionId_)
}

// MockCloseSession is a paid mutator transaction binding the contract method 0xaa01a26b.
//
// Solidity: function mockCloseSession(bytes32 sessionId_, uint128 closedAt_) returns()
func (_SessionRouterMock *SessionRouterMockTransactor) MockCloseSession(opts *bind.TransactOpts, sessionId_ [32]byte, closedAt_ *big.Int) (*types.Transaction, error) {
	return _SessionRouterMock.contract.Transact(opts, "mockCloseSession", sessionId_, closedAt_)
}

// MockCloseSession is a paid mutator transaction binding the contract method 0xaa01a26b.
//
// Solidity: function mockCloseSession(bytes32 sessionId_, uint128 closedAt_) returns()
func (_SessionRouterMock *SessionRouterMockSession) MockCloseSession(sessionId_ [32]byte, closedAt_ *big.Int) (*types.Transaction, error) {
	return _SessionRouterMock.Contract.MockCloseSession(&_SessionRouterMock.TransactOpts, sessionId_, closedAt_)
}

// MockCloseSession is a paid mutator transaction binding the contract method 0xaa01a26b.
//
// Solidity: function mockCloseSession(bytes32 sessionId_, uint128 closedAt_) returns()
func (_SessionRouterMock *SessionRouterMockTransactorSession) MockCloseSession(sessionId_ [32]byte, closedAt_ *big.Int) (*types.Transaction, error) {
	return _SessionRouterMock.Contract.MockCloseSession(&_SessionRouterMock.TransactOpts, sessionId_, closedAt_)
}

// MockSetBid is a paid mutator transaction binding the contract method 0xb0d057bd.
//
// Solidity: function mockSetBid(bytes32 bidId_, address provider_, bytes32 modelId_, uint256 pricePerSecond_, uint256 nonce_, uint128 createdAt_) returns()
func (_SessionRouterMock *SessionRouterMockTransactor) MockSetBid(opts *bind.TransactOpts, bidId_ [32]byte, provider_ common.Address, modelId_ [32]byte, pricePerSecond_ *big.Int, nonce_ *big.Int, createdAt_ *big.Int) (*types.Transaction, error) {
	return _SessionRouterMock.contract.Transact(opts, "mockSetBid", bidId_, provider_, modelId_, pricePerSecond_, nonce_, createdAt_)
}

// MockSetBid is a paid mutator transaction binding the contract method 0xb0d057bd.
//
// Solidity: function mockSetBid(bytes32 bidId_, address provider_, bytes32 modelId_, uint256 pricePerSecond_, uint256 nonce_, uint128 createdAt_) returns()
func (_SessionRouterMock *SessionRouterMockSession) MockSetBid(bidId_ [32]byte, provider_ common.Address, modelId_ [32]byte, pricePerSecond_ *big.Int, nonce_ *big.Int, createdAt_ *big.Int) (*types.Transaction, error) {
	return _SessionRouterMock.Contract.MockSetBid(&_SessionRouterMock.TransactOpts, bidId_, provider_, modelId_, pricePerSecond_, nonce_, createdAt_)
}

// MockSetBid is a paid mutator transaction binding the contract method 0xb0d057bd.
//
// Solidity: function mockSetBid(bytes32 bidId_, address provider_, bytes32 modelId_, uint256 pricePerSecond_, uint256 nonce_, uint128 createdAt_) returns()
func (_SessionRouterMock *SessionRouterMockTransactorSession) MockSetBid(bidId_ [32]byte, provider_ common.Address, modelId_ [32]byte, pricePerSecond_ *big.Int, nonce_ *big.Int, createdAt_ *big.Int) (*types.Transaction, error) {
	return _SessionRouterMock.Contract.MockSetBid(&_SessionRouterMock.TransactOpts, bidId_, provider_, modelId_, pricePerSecond_, nonce_, createdAt_)
}

// MockSetSession is a paid mutator transaction binding the contract method 0x8da4b456.
//
// Solidity: function mockSetSession(bytes32 sessionId_, address user_, bytes32 bidId_, uint256 stake_, uint128 openedAt_, uint128 endsAt_, bool isDirectPaymentFromUser_) returns()
func (_SessionRouterMock *SessionRouterMockTransactor) MockSetSession(opts *bind.TransactOpts, sessionId_ [32]byte, user_ common.Address, bidId_ [32]byte, stake_ *big.Int, openedAt_ *big.Int, endsAt_ *big.Int, isDirectPaymentFromUser_ bool) (*types.Transaction, error) {
	return _SessionRouterMock.contract.Transact(opts, "mockSetSession", sessionId_, user_, bidId_, stake_, openedAt_, endsAt_, isDirectPaymentFromUser_)
}

// MockSetSession is a paid mutator transaction binding the contract method 0x8da4b456.
//
// Solidity: function mockSetSession(bytes32 sessionId_, address user_, bytes32 bidId_, uint256 stake_, uint128 openedAt_, uint128 endsAt_, bool isDirectPaymentFromUser_) returns()
func (_SessionRouterMock *SessionRouterMockSession) MockSetSession(sessionId_ [32]byte, user_ common.Address, bidId_ [32]byte, stake_ *big.Int, openedAt_ *big.Int, endsAt_ *big.Int, isDirectPaymentFromUser_ bool) (*types.Transaction, error) {
	return _SessionRouterMock.Contract.MockSetSession(&_SessionRouterMock.TransactOpts, sessionId_, user_, bidId_, stake_, openedAt_, endsAt_, isDirectPaymentFromUser_)
}

// MockSetSession is a paid mutator transaction binding the contract method 0x8da4b456.
//
// Solidity: function mockSetSession(bytes32 sessionId_, address user_, bytes32 bidId_, uint256 stake_, uint128 openedAt_, uint128 endsAt_, bool isDirectPaymentFromUser_) returns()
func (_SessionRouterMock *SessionRouterMockTransactorSession) MockSetSession(sessionId_ [32]byte, user_ common.Address, bidId_ [32]byte, stake_ *big.Int, openedAt_ *big.Int, endsAt_ *big.Int, isDirectPaymentFromUser_ bool) (*types.Transaction, error) {
	return _SessionRouterMock.Contract.MockSetSession(&_SessionRouterMock.TransactOpts, sessionId_, user_, bidId_, stake_, openedAt_, endsAt_, isDirectPaymentFromUser_)
}

// SessionRouterMockSessionClosedIterator is returned from FilterSessionClosed and is used to iterate over the raw logs and unpacked data for SessionClosed events raised by the SessionRouterMock contract.
type SessionRouterMockSessionClosedIterator struct {
	Event *SessionRouterMockSessionClosed // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *SessionRouterMockSessionClosedIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(SessionRouterMockSessionClosed)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(SessionRouterMockSessionClosed)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *SessionRouterMockSessionClosedIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *SessionRouterMockSessionClosedIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// SessionRouterMockSessionClosed represents a SessionClosed event raised by the SessionRouterMock contract.
type SessionRouterMockSessionClosed struct {
	User       common.Address
	SessionId  [32]byte
	ProviderId common.Address
	Raw        types.Log // Blockchain specific contextual infos
}

// FilterSessionClosed is a free log retrieval operation binding the contract event 0x337fbb0a41a596db800dc836595a57815f967185e3596615c646f2455ac3914a.
//
// Solidity: event SessionClosed(address indexed user, bytes32 indexed sessionId, address indexed providerId)
func (_SessionRouterMock *SessionRouterMockFilterer) FilterSessionClosed(opts *bind.FilterOpts, user []common.Address, sessionId [][32]byte, providerId []common.Address) (*SessionRouterMockSessionClosedIterator, error) {

	var userRule []interface{}
	for _, userItem := range user {
		userRule = append(userRule, userItem)
	}
	var sessionIdRule []interface{}
	for _, sessionIdItem := range sessionId {
		sessionIdRule = append(sessionIdRule, sessionIdItem)
	}
	var providerIdRule []interface{}
	for _, providerIdItem := range providerId {
		providerIdRule = append(providerIdRule, providerIdItem)
	}

	logs, sub, err := _SessionRouterMock.contract.FilterLogs(opts, "SessionClosed", userRule, sessionIdRule, providerIdRule)
	if err != nil {
		return nil, err
	}
	return &SessionRouterMockSessionClosedIterator{contract: _SessionRouterMock.contract, event: "SessionClosed", logs: logs, sub: sub}, nil
}

// WatchSessionClosed is a free log subscription operation binding the contract event 0x337fbb0a41a596db800dc836595a57815f967185e3596615c646f2455ac3914a.
//
// Solidity: event SessionClosed(address indexed user, bytes32 indexed sessionId, address indexed providerId)
func (_SessionRouterMock *SessionRouterMockFilterer) WatchSessionClosed(opts *bind.WatchOpts, sink chan<- *SessionRouterMockSessionClosed, user []common.Address, sessionId [][32]byte, providerId []common.Address) (event.Subscription, error) {

	var userRule []interface{}
	for _, userItem := range user {
		userRule = append(userRule, userItem)
	}
	var sessionIdRule []interface{}
	for _, sessionIdItem := range sessionId {
		sessionIdRule = append(sessionIdRule, sessionIdItem)
	}
	var providerIdRule []interface{}
	for _, providerIdItem := range providerId {
		providerIdRule = append(providerIdRule, providerIdItem)
	}

	logs, sub, err := _SessionRouterMock.contract.WatchLogs(opts, "SessionClosed", userRule, sessionIdRule, providerIdRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(SessionRouterMockSessionClosed)
				if err := _SessionRouterMock.contract.UnpackLog(event, "SessionClosed", log); err != nil {
					// If the signature doesn't match, skip this log.
					if errors.Is(err, bind.ErrEventSignatureMismatch) {
						continue
					}
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseSessionClosed is a log parse operation binding the contract event 0x337fbb0a41a596db800dc836595a57815f967185e3596615c646f2455ac3914a.
//
// Solidity: event SessionClosed(address indexed user, bytes32 indexed sessionId, address indexed providerId)
func (_SessionRouterMock *SessionRouterMockFilterer) ParseSessionClosed(log types.Log) (*SessionRouterMockSessionClosed, error) {
	event := new(SessionRouterMockSessionClosed)
	if err := _SessionRouterMock.contract.UnpackLog(event, "SessionClosed", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}

// SessionRouterMockSessionOpenedIterator is returned from FilterSessionOpened and is used to iterate over the raw logs and unpacked data for SessionOpened events raised by the SessionRouterMock contract.
type SessionRouterMockSessionOpenedIterator struct {
	Event *SessionRouterMockSessionOpened // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *SessionRouterMockSessionOpenedIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(SessionRouterMockSessionOpened)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(SessionRouterMockSessionOpened)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *SessionRouterMockSessionOpenedIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *SessionRouterMockSessionOpenedIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// SessionRouterMockSessionOpened represents a SessionOpened event raised by the SessionRouterMock contract.
type SessionRouterMockSessionOpened struct {
	User       common.Address
	SessionId  [32]byte
	ProviderId common.Address
	Raw        types.Log // Blockchain specific contextual infos
}

// FilterSessionOpened is a free log retrieval operation binding the contract event 0x2bd7c890baf595977d256a6e784512c873ac58ba612b4895dbb7f784bfbf4839.
//
// Solidity: event SessionOpened(address indexed user, bytes32 indexed sessionId, address indexed providerId)
func (_SessionRouterMock *SessionRouterMockFilterer) FilterSessionOpened(opts *bind.FilterOpts, user []common.Address, sessionId [][32]byte, providerId []common.Address) (*SessionRouterMockSessionOpenedIterator, error) {

	var userRule []interface{}
	for _, userItem := range user {
		userRule = append(userRule, userItem)
	}
	var sessionIdRule []interface{}
	for _, sessionIdItem := range sessionId {
		sessionIdRule = append(sessionIdRule, sessionIdItem)
	}
	var providerIdRule []interface{}
	for _, providerIdItem := range providerId {
		providerIdRule = append(providerIdRule, providerIdItem)
	}

	logs, sub, err := _SessionRouterMock.contract.FilterLogs(opts, "SessionOpened", userRule, sessionIdRule, providerIdRule)
	if err != nil {
		return nil, err
	}
	return &SessionRouterMockSessionOpenedIterator{contract: _SessionRouterMock.contract, event: "SessionOpened", logs: logs, sub: sub}, nil
}

// WatchSessionOpened is a free log subscription operation binding the contract event 0x2bd7c890baf595977d256a6e784512c873ac58ba612b4895dbb7f784bfbf4839.
//
// Solidity: event SessionOpened(address indexed user, bytes32 indexed sessionId, address indexed providerId)
func (_SessionRouterMock *SessionRouterMockFilterer) WatchSessionOpened(opts *bind.WatchOpts, sink chan<- *SessionRouterMockSessionOpened, user []common.Address, sessionId [][32]byte, providerId []common.Address) (event.Subscription, error) {

	var userRule []interface{}
	for _, userItem := range user {
		userRule = append(userRule, userItem)
	}
	var sessionIdRule []interface{}
	for _, sessionIdItem := range sessionId {
		sessionIdRule = append(sessionIdRule, sessionIdItem)
	}
	var providerIdRule []interface{}
	for _, providerIdItem := range providerId {
		providerIdRule = append(providerIdRule, providerIdItem)
	}

	logs, sub, err := _SessionRouterMock.contract.WatchLogs(opts, "SessionOpened", userRule, sessionIdRule, providerIdRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(SessionRouterMockSessionOpened)
				if err := _SessionRouterMock.contract.UnpackLog(event, "SessionOpened", log); err != nil {
					// If the signature doesn't match, skip this log.
					if errors.Is(err, bind.ErrEventSignatureMismatch) {
						continue
					}
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseSessionOpened is a log parse operation binding the contract event 0x2bd7c890baf595977d256a6e784512c873ac58ba612b4895dbb7f784bfbf4839.
//
// Solidity: event SessionOpened(address indexed user, bytes32 indexed sessionId, address indexed providerId)
func (_SessionRouterMock *SessionRouterMockFilterer) ParseSessionOpened(log types.Log) (*SessionRouterMockSessionOpened, error) {
	event := new(SessionRouterMockSessionOpened)
	if err := _SessionRouterMock.contract.UnpackLog(event, "SessionOpened", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}
