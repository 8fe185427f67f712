// Package keys holds the API keys the order sessions sign with: a Ring per
// venue account (several keys, one current, rotated and retired while orders
// are in flight) and a Keystore file (age, scrypt passphrase) that keeps
// every account's keys encrypted at rest.
//
// Ownership:
//   - A Ring owns its keys' secret bytes. A session reads Ring.Current on
//     every request (one atomic load, no lock, no allocation) and borrows the
//     returned *exec.Credential for that request only. Add, MakeCurrent,
//     Retire, Tick, List and Close may be called from any goroutine (an
//     operator's control path) while sessions call Current.
//   - Expiry and the end of a retirement grace period are applied by
//     Ring.Tick, which the engine polls (about once a second) and which
//     returns Notices for the log; Current itself reads no clock. A key is
//     therefore skipped from the first Tick at or after its NotAfter.
//   - A Keystore is owned by one goroutine (a cmd/arbmm command or the
//     engine's start-up); Keystore.Ring hands the engine a Ring with its own
//     copies of the secrets, so the Keystore can be closed at once.
//   - Flags, environment variables and terminal prompts are read only in
//     cmd/arbmm; this package takes passphrases and secrets as []byte.
//
// Secrets: no String, GoString, Format, MarshalJSON, error or panic value of
// this package contains secret bytes. Every type that holds a secret keeps
// it behind an unexported pointer and formats itself without it. A retired
// key's secret bytes are zeroed in place, and Close zeroes everything.
// Zeroing is best effort: the age and scrypt code, encoding/json's decoder
// and Go strings (the passphrase is handed to age as a string, a secret read
// from the environment is a string) may leave copies in memory this package
// cannot reach.
//
// Allocation: Current allocates nothing; everything else is cold.
package keys
