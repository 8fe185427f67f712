package sim

import (
	"testing"

	"arbmm/configs"
)

// FuzzParse feeds arbitrary bytes to the simex config parser: it returns
// a config or an error, never panics, and a config it accepts builds a
// simulator (or fails with an error) without panicking either.
func FuzzParse(f *testing.F) {
	f.Add([]byte(testConfig))
	f.Add([]byte(benchConfig))
	if data, err := configs.FS.ReadFile("simex.yaml"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if c != nil {
				t.Fatalf("got a config and %v, want nil with an error", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate then rejects: %v", err)
		}
		s, err := New(c, Options{SkipMissingSecrets: true, Getenv: func(string) string { return "" }})
		if err == nil {
			s.Close()
		}
	})
}
