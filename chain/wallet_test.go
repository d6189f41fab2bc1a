package chain

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// testKeyHex is a well-known example key (web3.js documentation); never fund it.
const (
	testKeyHex     = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	testKeyAddress = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
)

func TestParsePrivateKeyAcceptedForms(t *testing.T) {
	for _, in := range []string{
		testKeyHex,
		"0x" + testKeyHex,
		"0X" + testKeyHex,
		strings.ToUpper(testKeyHex),
		"0x" + strings.ToUpper(testKeyHex),
		"  \t0x" + testKeyHex + "\n",
	} {
		k, err := ParsePrivateKey(in)
		if err != nil {
			t.Fatalf("ParsePrivateKey(%q): %v", in, err)
		}
		if got := FormatPrivateKey(k); got != "0x"+testKeyHex {
			t.Errorf("FormatPrivateKey = %q, want canonical 0x+lowercase", got)
		}
		if got := Address(k); got != common.HexToAddress(testKeyAddress) {
			t.Errorf("Address = %s, want %s", got.Hex(), testKeyAddress)
		}
	}
}

func TestParsePrivateKeyRoundTrip(t *testing.T) {
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s := FormatPrivateKey(k)
	if len(s) != 66 || !strings.HasPrefix(s, "0x") || s != strings.ToLower(s) {
		t.Fatalf("FormatPrivateKey = %d chars, want 0x + 64 lowercase hex", len(s))
	}
	back, err := ParsePrivateKey(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(crypto.FromECDSA(back), crypto.FromECDSA(k)) || Address(back) != crypto.PubkeyToAddress(k.PublicKey) {
		t.Fatal("round trip changed the key")
	}
}

func TestParsePrivateKeyRejects(t *testing.T) {
	n := crypto.S256().Params().N
	cases := map[string]string{
		"empty":            "",
		"whitespace":       "   ",
		"prefix only":      "0x",
		"63 digits":        testKeyHex[1:],
		"65 digits":        testKeyHex + "a",
		"non-hex":          "g" + testKeyHex[1:],
		"inner space":      testKeyHex[:32] + " " + testKeyHex[33:],
		"double prefix":    "0x0x" + testKeyHex[4:],
		"zero":             strings.Repeat("0", 64),
		"curve order":      n.Text(16),
		"above curve ord.": strings.Repeat("f", 64),
		"40-digit address": strings.TrimPrefix(strings.ToLower(testKeyAddress), "0x"),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			k, err := ParsePrivateKey(in)
			if err == nil {
				t.Fatalf("accepted, got key for address %s", Address(k).Hex())
			}
			if !errors.Is(err, ErrInvalidPrivateKey) {
				t.Errorf("error %v does not wrap ErrInvalidPrivateKey", err)
			}
			if len(in) >= 8 && strings.Contains(strings.ToLower(err.Error()), strings.ToLower(strings.TrimSpace(in))[4:12]) {
				t.Errorf("error %q echoes part of the key", err)
			}
		})
	}
}

func TestParsePrivateKeyErrorNamesProblem(t *testing.T) {
	_, err := ParsePrivateKey(testKeyHex[:10])
	if err == nil || !strings.Contains(err.Error(), "got 10 characters") {
		t.Errorf("length error = %v", err)
	}
	_, err = ParsePrivateKey(testKeyHex[:20] + "z" + testKeyHex[21:])
	if err == nil || !strings.Contains(err.Error(), "position 21") {
		t.Errorf("character error = %v", err)
	}
}
