// Package jscan is a zero-allocation JSON cursor for the feed decoders: it
// walks a frame in place, byte by byte, and hands out keys and strings as
// slices borrowed from the frame, and numbers (bare or quoted) straight as
// fixed-point mantissas via market.ScanFixed.
//
// It is not a general JSON library: it never builds a tree and never
// reflects. Decoders drive it the way a hand-written parser would:
//
//	s.Reset(frame)
//	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() { ... }
//
// Every value is validated as it is consumed or skipped, so a frame that a
// decoder accepts is valid JSON in the parts it read and skipped. The first
// error stops the scan: every later call reports failure, and Err says what
// went wrong and where. A Scanner is used by one goroutine; slices it returns
// are valid until the frame's buffer is reused, except keys and strings that
// contained escapes, which live in the Scanner's scratch buffer and are valid
// until the next call.
package jscan
