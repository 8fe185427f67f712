// Package market holds arbmm's domain vocabulary: venues, canonical pairs,
// instruments (a venue's listing of a pair with its tick, step and minimums),
// sides, and the fixed-point numbers that every price and quantity is stored in.
//
// Prices and quantities are int64 mantissas with a decimal exponent that lives
// on the Instrument (PriceExp, QtyExp): a price mantissa 6000012 with
// PriceExp 2 is 60000.12. Venue decimal text (and JSON numbers, including
// exponent form) is scanned straight into mantissas by ScanFixed without
// float64; text with more significant decimals than the exponent allows, a
// value that does not fit in int64, or malformed text is an error, never a
// rounding. AppendFixed formats a mantissa back exactly.
//
// Everything here is a value type or a pure function: safe for any goroutine.
// ScanFixed, ParseFixed and AppendFixed do not allocate (errors are
// preallocated sentinels), so feed decoders call them on the hot path.
//
// This package imports nothing of arbmm's; everything else imports it.
package market
