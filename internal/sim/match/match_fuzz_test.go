package match

import "testing"

// FuzzBook drives a book with operations decoded from the fuzz input (see
// sim.step) in both fee modes and checks the invariants after each one.
func FuzzBook(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 20, 10, 3, 9, 1, 1, 0, 1, 2, 20, 10, 3, 9})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, twice: the quick brown fox"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		mode := FeeMode(data[0] & 1)
		scaled := data[0]&2 != 0
		s, err := newSim(mode, scaled)
		if err != nil {
			t.Fatal(err)
		}
		src := &byteSource{b: data[1:]}
		for i := 0; len(src.b) > 0 && i < 2000; i++ {
			s.rec.reset()
			if err := s.step(src); err != nil {
				t.Fatalf("op %d: %v", i, err)
			}
		}
	})
}
