// Package configs holds the YAML configurations that ship with arbmm:
// prod.example.yaml (Binance and Kraken on their real public endpoints) and
// the per-venue instrument files under instruments/ that it names. Every
// file here loads and validates (internal/config's tests walk FS).
//
// The files are embedded in the binary as FS, so that subcommands such as
// `arbmm demo` run without any file on disk. No file here may hold a
// secret: keys come from the keystore.
package configs
