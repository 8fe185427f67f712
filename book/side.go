package book

import "arbmm/internal/market"

// entry is one stored level: the sort key and the quantity side by side, so
// a search and the update that follows touch one cache line and a shift is
// one memmove.
type entry struct {
	key int64 // price for bids, -price for asks: ascending, best last
	qty int64
}

// side holds one side's levels sorted ascending by key with the best level
// last, so one code path serves bids and asks. Levels occupy [lo, hi) of an
// array with room on both ends: inserting or deleting near either end (the
// best, or the worst while a snapshot is loaded best-first) moves few
// entries, and dropping the worst levels is a change of lo.
type side struct {
	e      []entry
	lo, hi int
	max    int   // levels kept
	sign   int64 // +1 bids, -1 asks: key = sign*price
}

func (sd *side) init(maxDepth int, s market.Side) {
	sd.e = make([]entry, 2*maxDepth+2)
	sd.max = maxDepth
	sd.sign = 1
	if s == market.Ask {
		sd.sign = -1
	}
	sd.clear()
}

func (sd *side) clear() {
	sd.lo = len(sd.e) / 2
	sd.hi = sd.lo
}

func (sd *side) key(px int64) int64 { return sd.sign * px }
func (sd *side) price(i int) int64  { return sd.sign * sd.e[i].key }

// linearProbe is how many levels from the best search scans one by one
// before galloping: most venue updates land within a few levels of the top.
const linearProbe = 8

// search returns the first index in [lo, hi) whose key is >= k (hi if none)
// and whether that key equals k. It scans the best few levels, then gallops
// from the best end, so a level d places from the best costs O(log d).
func (sd *side) search(k int64) (int, bool) {
	e := sd.e
	lo, r := sd.lo, sd.hi // answer in [lo, r]; e[r].key >= k when r < hi
	// Count the best few keys >= k without branching on each: the count is
	// the answer's distance from hi when it falls inside the probe.
	n := min(linearProbe, r-lo)
	c := 0
	for _, x := range e[r-n : r] {
		if x.key >= k {
			c++
		}
	}
	if c < n || r-n == lo {
		r -= c
		return r, r < sd.hi && e[r].key == k
	}
	r -= n
	// e[r].key >= k (or r == hi) and r-lo > 0: gallop downwards.
	top := r
	for step := linearProbe; ; step <<= 1 {
		i := top - step
		if i < lo {
			break
		}
		if e[i].key < k {
			lo = i + 1
			break
		}
		r = i
	}
	for lo < r {
		m := int(uint(lo+r) >> 1)
		if e[m].key < k {
			lo = m + 1
		} else {
			r = m
		}
	}
	return r, r < sd.hi && e[r].key == k
}

// set applies a change and returns the distance from the best of the level
// it touched, or -1 if nothing changed.
func (sd *side) set(px, q int64, st *Stats) int {
	k := sd.key(px)
	idx, found := sd.search(k)
	if found {
		d := sd.hi - 1 - idx
		if q != 0 {
			sd.e[idx].qty = q
			st.Updates++
			return d
		}
		// Delete: close the gap from the nearer end.
		if idx-sd.lo < sd.hi-1-idx {
			copy(sd.e[sd.lo+1:idx+1], sd.e[sd.lo:idx])
			sd.lo++
		} else {
			copy(sd.e[idx:sd.hi-1], sd.e[idx+1:sd.hi])
			sd.hi--
		}
		st.Updates++
		return d
	}
	if q == 0 {
		st.DeleteMisses++
		return -1
	}
	if sd.hi-sd.lo >= sd.max {
		if idx == sd.lo {
			st.Dropped++ // worse than every level of a full side
			return -1
		}
		sd.lo++ // evict the worst level
		st.Dropped++
	}
	d := sd.hi - idx // distance from best of the new level
	// Open a hole at idx by moving the nearer end outwards.
	if (sd.hi-idx <= idx-sd.lo && sd.hi < len(sd.e)) || sd.lo == 0 {
		if sd.hi == len(sd.e) {
			sd.recenter()
			idx, _ = sd.search(k)
		}
		copy(sd.e[idx+1:sd.hi+1], sd.e[idx:sd.hi])
		sd.hi++
	} else {
		copy(sd.e[sd.lo-1:idx-1], sd.e[sd.lo:idx])
		sd.lo--
		idx--
	}
	sd.e[idx] = entry{k, q}
	st.Updates++
	return d
}

// recenter moves the levels to the middle of the array. The array holds
// more than twice max, so this runs at most once per max inserts.
func (sd *side) recenter() {
	n := sd.hi - sd.lo
	lo := (len(sd.e) - n) / 2
	copy(sd.e[lo:lo+n], sd.e[sd.lo:sd.hi])
	sd.lo, sd.hi = lo, lo+n
}
