package config

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"arbmm/configs"
)

// FuzzParse checks that no input panics Parse, that every problem is a
// *Error, and that a config Parse accepts builds its instruments and
// validates again. Seeds: testdata/fuzz/FuzzParse and the files of configs/.
func FuzzParse(f *testing.F) {
	f.Add([]byte(validYAML))
	_ = fs.WalkDir(configs.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, err := fs.ReadFile(configs.FS, p); err == nil {
				f.Add(data)
			}
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if c != nil {
				t.Fatalf("got a config and %v, want nil with an error", err)
			}
			list := []error{err}
			if u, ok := err.(interface{ Unwrap() []error }); ok {
				list = u.Unwrap()
			}
			for _, e := range list {
				var ce *Error
				if !errors.As(e, &ce) || !strings.HasPrefix(e.Error(), "config: fuzz.yaml") {
					t.Fatalf("got %T %q, want a *config.Error naming fuzz.yaml", e, e)
				}
			}
			return
		}
		ins, err := c.Instruments()
		if err != nil {
			t.Fatalf("Instruments of a parsed config: got %v, want no error", err)
		}
		n := 0
		for _, v := range c.Venues {
			n += len(v.Instruments)
		}
		if len(ins) != n {
			t.Fatalf("got %d instruments, want %d", len(ins), n)
		}
		for i := range ins {
			if err := ins[i].Validate(); err != nil {
				t.Fatalf("instrument %d: got %v, want valid", i, err)
			}
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate again: got %v, want no error", err)
		}
	})
}
