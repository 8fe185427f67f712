// Package mm will hold arbmm's market-making strategies:
// Avellaneda–Stoikov quoting, inventory skew, layering, and cross-exchange
// market making (quote on one venue, hedge on another). Like package arb it
// reads book views and positions, returns order intents, and does no I/O.
//
// The package is laid out now so that the repository's top level is the
// architecture (DESIGN.md section 2); its code arrives with market making.
package mm
