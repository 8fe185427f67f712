package match

import (
	"fmt"
	"math"
	"slices"
)

// Ledger holds every account's balances of a venue's assets: free (can be
// withdrawn or locked) and locked (reserved by open orders). Accounts come
// into being at their first deposit or credit. A Ledger is not safe for
// concurrent use: the venue's lock guards it, together with the venue's
// books.
type Ledger struct {
	assets   []Asset
	byName   map[string]AssetID
	accounts map[AccountID][]balance
	ids      []AccountID // sorted
	supply   []int64     // per asset: everything deposited less withdrawn
	onChange func(a AccountID, asset AssetID)
}

type balance struct{ free, locked int64 }

// maxAssets is the number of assets an AssetID can name.
const maxAssets = math.MaxUint16 + 1

// NewLedger returns an empty ledger of assets; an asset's AssetID is its
// index in assets. Names must be non-empty and distinct, exponents within
// −18..18.
func NewLedger(assets []Asset) (*Ledger, error) {
	if len(assets) == 0 || len(assets) > maxAssets {
		return nil, fmt.Errorf("match: ledger needs 1..%d assets, got %d", maxAssets, len(assets))
	}
	l := &Ledger{
		assets:   slices.Clone(assets),
		byName:   make(map[string]AssetID, len(assets)),
		accounts: make(map[AccountID][]balance),
		supply:   make([]int64, len(assets)),
	}
	for i, as := range assets {
		if as.Name == "" {
			return nil, fmt.Errorf("match: asset %d has no name", i)
		}
		if as.Exp < -18 || as.Exp > 18 {
			return nil, fmt.Errorf("match: asset %s: exponent %d out of range -18..18", as.Name, as.Exp)
		}
		if _, dup := l.byName[as.Name]; dup {
			return nil, fmt.Errorf("match: asset %s listed twice", as.Name)
		}
		l.byName[as.Name] = AssetID(i)
	}
	return l, nil
}

// Assets returns the ledger's assets, indexed by AssetID. The slice is the
// ledger's own: do not modify it.
func (l *Ledger) Assets() []Asset { return l.assets[:len(l.assets):len(l.assets)] }

// Asset returns the id of the asset called name.
func (l *Ledger) Asset(name string) (AssetID, bool) {
	id, ok := l.byName[name]
	return id, ok
}

// Exp returns the exponent of asset (0 for an unknown asset).
func (l *Ledger) Exp(asset AssetID) int8 {
	if int(asset) >= len(l.assets) {
		return 0
	}
	return l.assets[asset].Exp
}

// OnChange sets fn to be called after each change of an account's free or
// locked amount of an asset (nil: none). fn must not change the ledger.
func (l *Ledger) OnChange(fn func(a AccountID, asset AssetID)) { l.onChange = fn }

// Deposit credits amount (> 0) of asset to a's free balance. ErrOverflow if
// the asset's total over all accounts would overflow int64, which bounds
// every balance and sum of balances.
func (l *Ledger) Deposit(a AccountID, asset AssetID, amount int64) error {
	if int(asset) >= len(l.assets) {
		return ErrUnknownAsset
	}
	if amount <= 0 {
		return ErrBadRequest
	}
	if l.supply[asset] > math.MaxInt64-amount {
		return ErrOverflow
	}
	l.supply[asset] += amount
	l.account(a)[asset].free += amount
	l.changed(a, asset)
	return nil
}

// Withdraw debits amount (> 0) of asset from a's free balance;
// ErrInsufficient if the free balance is smaller.
func (l *Ledger) Withdraw(a AccountID, asset AssetID, amount int64) error {
	if int(asset) >= len(l.assets) {
		return ErrUnknownAsset
	}
	if amount <= 0 {
		return ErrBadRequest
	}
	bs := l.accounts[a]
	if bs == nil || bs[asset].free < amount {
		return ErrInsufficient
	}
	bs[asset].free -= amount
	l.supply[asset] -= amount
	l.changed(a, asset)
	return nil
}

// Balance returns a's free and locked amounts of asset.
func (l *Ledger) Balance(a AccountID, asset AssetID) (free, locked int64) {
	bs := l.accounts[a]
	if bs == nil || int(asset) >= len(bs) {
		return 0, 0
	}
	return bs[asset].free, bs[asset].locked
}

// Total sums asset over all accounts, free and locked: what was deposited
// less what was withdrawn, whatever trading happened in between.
func (l *Ledger) Total(asset AssetID) int64 {
	if int(asset) >= len(l.assets) {
		return 0
	}
	var t int64
	for _, a := range l.ids {
		b := l.accounts[a][asset]
		t += b.free + b.locked
	}
	return t
}

// Accounts returns the accounts the ledger knows, sorted. The slice is the
// ledger's own, valid until the next new account: do not modify it.
func (l *Ledger) Accounts() []AccountID { return l.ids[:len(l.ids):len(l.ids)] }

// account returns a's balances, creating the account.
func (l *Ledger) account(a AccountID) []balance {
	bs := l.accounts[a]
	if bs == nil {
		bs = make([]balance, len(l.assets))
		l.accounts[a] = bs
		i, _ := slices.BinarySearch(l.ids, a)
		l.ids = slices.Insert(l.ids, i, a)
	}
	return bs
}

func (l *Ledger) changed(a AccountID, asset AssetID) {
	if l.onChange != nil {
		l.onChange(a, asset)
	}
}

// free returns a's free amount of asset.
func (l *Ledger) free(a AccountID, asset AssetID) int64 {
	f, _ := l.Balance(a, asset)
	return f
}

// lock moves amount from free to locked; false (and no change) if the free
// balance is short.
func (l *Ledger) lock(a AccountID, asset AssetID, amount int64) bool {
	if amount == 0 {
		return true
	}
	bs := l.accounts[a]
	if bs == nil || bs[asset].free < amount {
		return false
	}
	bs[asset].free -= amount
	bs[asset].locked += amount
	l.changed(a, asset)
	return true
}

// unlock moves amount from locked back to free.
func (l *Ledger) unlock(a AccountID, asset AssetID, amount int64) {
	if amount == 0 {
		return
	}
	b := &l.accounts[a][asset]
	if b.locked < amount {
		panic(fmt.Sprintf("match: unlock %d of asset %d from account %d holding %d locked", amount, asset, a, b.locked))
	}
	b.locked -= amount
	b.free += amount
	l.changed(a, asset)
}

// debitLocked takes amount out of a's locked balance (a fill of a resting
// or locked order).
func (l *Ledger) debitLocked(a AccountID, asset AssetID, amount int64) {
	if amount == 0 {
		return
	}
	b := &l.accounts[a][asset]
	if b.locked < amount {
		panic(fmt.Sprintf("match: debit %d of asset %d from account %d holding %d locked", amount, asset, a, b.locked))
	}
	b.locked -= amount
	l.changed(a, asset)
}

// debitFree takes amount out of a's free balance (a fill of a market order).
func (l *Ledger) debitFree(a AccountID, asset AssetID, amount int64) {
	if amount == 0 {
		return
	}
	bs := l.accounts[a]
	if bs == nil || bs[asset].free < amount {
		panic(fmt.Sprintf("match: debit %d of asset %d from account %d short of free balance", amount, asset, a))
	}
	bs[asset].free -= amount
	l.changed(a, asset)
}

// credit adds amount to a's free balance. It cannot overflow: the asset's
// supply bounds every balance.
func (l *Ledger) credit(a AccountID, asset AssetID, amount int64) {
	if amount == 0 {
		return
	}
	l.account(a)[asset].free += amount
	l.changed(a, asset)
}
