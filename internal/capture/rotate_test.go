package capture

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

// TestRotator writes records through a Rotator with a small size limit and
// a fake clock, then reads every file back: all records, in order, split
// where the limits say.
func TestRotator(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("compress=", compress), func(t *testing.T) {
			now := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
			r, err := NewRotator(RotatorConfig{Dir: t.TempDir(), Prefix: "test", MaxBytes: 1000, MaxAge: time.Minute, Compress: compress, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := 0; i < 40; i++ {
				data := fmt.Sprintf(`{"i":%d,"pad":"%040d"}`, i, i)
				want = append(want, data)
				if err := r.Recv(now, "wss://x.test/ws", []byte(data)); err != nil {
					t.Fatal(err)
				}
				if i == 30 {
					now = now.Add(2 * time.Minute) // the age limit starts a new file
				}
			}
			if err := r.HTTP(now, "https://x.test/depth", []byte(`{"lastUpdateId":1}`)); err != nil {
				t.Fatal(err)
			}
			want = append(want, `{"lastUpdateId":1}`)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if err := r.Recv(now, "c", nil); !errors.Is(err, ErrClosed) {
				t.Errorf("write after Close: %v, want ErrClosed", err)
			}
			files := r.Files()
			if len(files) < 4 {
				t.Fatalf("%d files, want at least 4 (size and age rotation)", len(files))
			}
			var got []string
			for _, f := range files {
				rd, err := Open(f)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for {
					rec, err := rd.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatalf("%s: %v", f, err)
					}
					got = append(got, string(rec.Data))
					n++
				}
				rd.Close()
				if n == 0 {
					t.Errorf("%s is empty", f)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("records read back differ:\n got %v\nwant %v", got, want)
			}
		})
	}
}
