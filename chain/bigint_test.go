package chain

import (
	"encoding/json"
	"math/big"
	"testing"
	"time"
)

func TestBigIntUnmarshal(t *testing.T) {
	above63, _ := new(big.Int).SetString("18446744073709551617", 10) // 2^64+1
	for _, tc := range []struct {
		in   string
		want *big.Int // nil: expect nil Int
	}{
		{`0`, big.NewInt(0)},
		{`4170000000000000000`, big.NewInt(4170000000000000000)},
		{`18446744073709551617`, above63},
		{`"18446744073709551617"`, above63},
		{`"10000000000000"`, big.NewInt(10000000000000)},
		{` "0" `, big.NewInt(0)},
		{`-5`, big.NewInt(-5)},
		{`null`, nil},
	} {
		var b BigInt
		if err := json.Unmarshal([]byte(tc.in), &b); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if tc.want == nil {
			if b.Int != nil {
				t.Errorf("%s: got %v, want nil", tc.in, b.Int)
			}
			continue
		}
		if b.Int == nil || b.Cmp(tc.want) != 0 {
			t.Errorf("%s: got %v, want %v", tc.in, b.Int, tc.want)
		}
	}
}

func TestBigIntUnmarshalInvalid(t *testing.T) {
	for _, in := range []string{`1.5`, `1e18`, `"36.5"`, `""`, `"0x10"`, `"abc"`, `true`, `{}`, `[]`, `"1_000"`, `"-"`} {
		var b BigInt
		if err := json.Unmarshal([]byte(in), &b); err == nil {
			t.Errorf("%s: want error, got %v", in, b.Int)
		}
	}
}

func TestBigIntInStruct(t *testing.T) {
	// Both encodings side by side, as in a rated bid next to a session view.
	var v struct {
		Stake          BigInt
		PricePerSecond BigInt
		Missing        BigInt
	}
	if err := json.Unmarshal([]byte(`{"Stake":9223372036854775808,"PricePerSecond":"10000000000000"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.Stake.String() != "9223372036854775808" || v.PricePerSecond.String() != "10000000000000" {
		t.Fatalf("got %v %v", v.Stake.Int, v.PricePerSecond.Int)
	}
	if v.Missing.Int != nil || v.Missing.orZero().Sign() != 0 {
		t.Fatal("missing key should stay nil and orZero to 0")
	}
}

func TestBigIntMarshal(t *testing.T) {
	n, _ := new(big.Int).SetString("18446744073709551617", 10)
	out, err := json.Marshal(struct {
		A BigInt
		B BigInt
	}{A: BigInt{n}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"A":"18446744073709551617","B":null}` {
		t.Fatalf("got %s", out)
	}
	var back struct{ A BigInt }
	if err := json.Unmarshal(out, &back); err != nil || back.A.Cmp(n) != 0 {
		t.Fatalf("round trip: %v %v", err, back.A.Int)
	}
}

func TestBigIntUnixTime(t *testing.T) {
	tm, err := BigInt{big.NewInt(1752001800)}.unixTime()
	if err != nil || !tm.Equal(time.Unix(1752001800, 0)) || tm.Location() != time.UTC {
		t.Fatalf("got %v %v", tm, err)
	}
	if tm, err := (BigInt{big.NewInt(0)}).unixTime(); err != nil || !tm.IsZero() {
		t.Fatalf("zero: %v %v", tm, err)
	}
	if tm, err := (BigInt{}).unixTime(); err != nil || !tm.IsZero() {
		t.Fatalf("nil: %v %v", tm, err)
	}
	huge, _ := new(big.Int).SetString("18446744073709551617", 10)
	if _, err := (BigInt{huge}).unixTime(); err == nil {
		t.Fatal("want range error")
	}
	if _, err := (BigInt{big.NewInt(-1)}).unixTime(); err == nil {
		t.Fatal("want range error for negative")
	}
}
