// Package config loads and validates the engine's YAML configuration: the
// canonical pairs with their fixed-point exponents, and per venue the
// endpoints, book sizes, keep-alive and reconnect timings, staleness bound
// and instruments (inline or from an instruments_file beside the config).
//
// Load reads a file from the OS, ParseFS from any fs.FS (the binary embeds
// the examples of configs/ as configs.FS), Parse from bytes. Decoding is
// strict: an unknown key, a duplicate key or a value of the wrong type is an
// error, and so is YAML syntax, each with its file, line and column.
// Validate then checks the whole config and reports every problem, each an
// *Error naming the path of the offending field ("venues[1].instruments[0].tick")
// and, when the config came from a file, its position. Defaults are applied
// in one place, when the config is validated, and documented on the fields
// and constants that carry them. Instruments turns a valid config into
// market.Instrument values, scanning decimal text straight into mantissas at
// each pair's exponents, never through float64.
//
// A config holds no secrets: API keys come from the keystore (exec/keys),
// and the schema has no field for them, so strict decoding rejects an
// api_key or secret with a pointer to the keystore.
//
// Everything here is cold path: it runs once at start-up (or on an operator's
// reload), allocates freely and wraps errors with context. A Config is a
// plain value; once validated it is read, not written, and any goroutine may
// read it.
package config
