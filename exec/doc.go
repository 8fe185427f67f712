// Package exec will be arbmm's order gateway: the venue-neutral order state
// machine, client order ids, rate limits, with exec/risk (pre-trade checks),
// exec/keys (key ring and keystore) and exec/<venue> (request encoding and
// signing into reused buffers, transport, user-data stream decoding).
//
// The package is laid out now so that the repository's top level is the
// architecture (DESIGN.md section 2); its code arrives with the order
// gateway.
package exec
