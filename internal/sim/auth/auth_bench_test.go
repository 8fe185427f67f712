package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

const (
	benchBinanceSecret  = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
	benchBinancePayload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	benchBinanceSig     = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
	benchKrakenSecret   = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
	benchKrakenPath     = "/0/private/AddOrder"
	benchKrakenNonce    = "1616492376594"
	benchKrakenPost     = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
	benchKrakenSig      = "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
)

var benchSink bool

func BenchmarkVerifyBinanceHMAC(b *testing.B) {
	sec, pay, sig := []byte(benchBinanceSecret), []byte(benchBinancePayload), []byte(benchBinanceSig)
	b.SetBytes(int64(len(pay)))
	b.ReportAllocs()
	for b.Loop() {
		benchSink = VerifyBinanceHMAC(sec, pay, sig)
	}
	if !benchSink {
		b.Fatal("got false, want true")
	}
}

// BenchmarkVerifyBinanceHMACStdlib is the baseline: crypto/hmac.New per call.
func BenchmarkVerifyBinanceHMACStdlib(b *testing.B) {
	sec, pay, sig := []byte(benchBinanceSecret), []byte(benchBinancePayload), []byte(benchBinanceSig)
	b.SetBytes(int64(len(pay)))
	b.ReportAllocs()
	for b.Loop() {
		want, _ := hex.DecodeString(string(sig))
		m := hmac.New(sha256.New, sec)
		m.Write(pay)
		benchSink = hmac.Equal(m.Sum(nil), want)
	}
}

func BenchmarkVerifyKraken(b *testing.B) {
	sec, _ := base64.StdEncoding.DecodeString(benchKrakenSecret)
	path, nonce, post, sig := []byte(benchKrakenPath), []byte(benchKrakenNonce), []byte(benchKrakenPost), []byte(benchKrakenSig)
	b.SetBytes(int64(len(post)))
	b.ReportAllocs()
	for b.Loop() {
		benchSink = VerifyKraken(sec, path, nonce, post, sig)
	}
	if !benchSink {
		b.Fatal("got false, want true")
	}
}

// BenchmarkVerifyKrakenStdlib is the baseline: crypto/hmac.New per call.
func BenchmarkVerifyKrakenStdlib(b *testing.B) {
	sec, _ := base64.StdEncoding.DecodeString(benchKrakenSecret)
	path, nonce, post, sig := []byte(benchKrakenPath), []byte(benchKrakenNonce), []byte(benchKrakenPost), []byte(benchKrakenSig)
	b.SetBytes(int64(len(post)))
	b.ReportAllocs()
	for b.Loop() {
		want, _ := base64.StdEncoding.DecodeString(string(sig))
		h := sha256.New()
		h.Write(nonce)
		h.Write(post)
		m := hmac.New(sha512.New, sec)
		m.Write(path)
		m.Write(h.Sum(nil))
		benchSink = hmac.Equal(m.Sum(nil), want)
	}
}

func BenchmarkBinanceRESTPayload(b *testing.B) {
	q := []byte(benchBinancePayload + "&signature=" + benchBinanceSig)
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(q)))
	b.ReportAllocs()
	for b.Loop() {
		_, _, benchSink = BinanceRESTPayload(buf[:0], q, nil)
	}
}
