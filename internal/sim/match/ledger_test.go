package match

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestNewLedgerErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		assets []Asset
	}{
		{"none", nil},
		{"empty name", []Asset{{Name: "", Exp: -2}}},
		{"duplicate", []Asset{{Name: "BTC", Exp: -8}, {Name: "BTC", Exp: -8}}},
		{"exponent", []Asset{{Name: "BTC", Exp: -19}}},
	} {
		if _, err := NewLedger(tc.assets); err == nil {
			t.Errorf("%s: got nil error, want one", tc.name)
		}
	}
}

func TestLedgerDepositWithdraw(t *testing.T) {
	l, err := NewLedger([]Asset{{Name: "BTC", Exp: -8}, {Name: "USD", Exp: -2}})
	if err != nil {
		t.Fatal(err)
	}
	usd, ok := l.Asset("USD")
	if !ok || usd != 1 {
		t.Fatalf("Asset(USD): got %d %v, want 1 true", usd, ok)
	}
	if _, ok := l.Asset("ETH"); ok {
		t.Errorf("Asset(ETH): got ok, want missing")
	}
	if got := l.Exp(usd); got != -2 {
		t.Errorf("Exp(USD): got %d, want -2", got)
	}
	var changes []AccountID
	l.OnChange(func(a AccountID, asset AssetID) { changes = append(changes, a) })

	check := func(a AccountID, wantFree, wantLocked int64) {
		t.Helper()
		free, locked := l.Balance(a, usd)
		if free != wantFree || locked != wantLocked {
			t.Errorf("account %d USD: got %d/%d, want %d/%d", a, free, locked, wantFree, wantLocked)
		}
	}
	if err := l.Deposit(7, usd, 1000); err != nil {
		t.Fatal(err)
	}
	if err := l.Deposit(3, usd, 50); err != nil {
		t.Fatal(err)
	}
	check(7, 1000, 0)
	if err := l.Deposit(7, usd, 0); !errors.Is(err, ErrBadRequest) {
		t.Errorf("deposit 0: got %v, want ErrBadRequest", err)
	}
	if err := l.Deposit(7, 9, 1); !errors.Is(err, ErrUnknownAsset) {
		t.Errorf("deposit of asset 9: got %v, want ErrUnknownAsset", err)
	}
	if err := l.Deposit(8, usd, math.MaxInt64-1050+1); !errors.Is(err, ErrOverflow) {
		t.Errorf("deposit past int64: got %v, want ErrOverflow", err)
	}
	if err := l.Withdraw(7, usd, 1001); !errors.Is(err, ErrInsufficient) {
		t.Errorf("withdraw 1001 of 1000: got %v, want ErrInsufficient", err)
	}
	if err := l.Withdraw(9, usd, 1); !errors.Is(err, ErrInsufficient) {
		t.Errorf("withdraw from unknown account: got %v, want ErrInsufficient", err)
	}
	if !l.lock(7, usd, 300) {
		t.Fatal("lock 300 of 1000 failed")
	}
	if l.lock(7, usd, 701) {
		t.Error("lock 701 of 700 free: got ok, want refusal")
	}
	check(7, 700, 300)
	if err := l.Withdraw(7, usd, 701); !errors.Is(err, ErrInsufficient) {
		t.Errorf("withdraw 701 of 700 free: got %v, want ErrInsufficient", err)
	}
	if err := l.Withdraw(7, usd, 200); err != nil {
		t.Fatal(err)
	}
	check(7, 500, 300)
	if got := l.Total(usd); got != 850 {
		t.Errorf("Total(USD): got %d, want 850", got)
	}
	if got, want := l.Accounts(), []AccountID{3, 7}; !slices.Equal(got, want) {
		t.Errorf("Accounts: got %v, want %v", got, want)
	}
	if want := []AccountID{7, 3, 7, 7}; !slices.Equal(changes, want) {
		t.Errorf("OnChange calls: got %v, want %v", changes, want)
	}
	if got := len(l.Assets()); got != 2 {
		t.Errorf("len(Assets): got %d, want 2", got)
	}
}
