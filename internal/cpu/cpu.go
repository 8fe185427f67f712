package cpu

import (
	"errors"
	"strconv"
)

// ErrNotAllowed is wrapped by Pin's error for a CPU outside the process's
// allowed set.
var ErrNotAllowed = errors.New("not in the process's allowed CPU set")

// ErrUnsupported is returned by Pin on systems without CPU affinity support
// here (everything but Linux).
var ErrUnsupported = errors.New("cpu: pinning is supported only on Linux")

// listString formats sorted CPU numbers the way Linux prints CPU lists:
// "0-3,6,8-9"; "none" for an empty list.
func listString(cpus []int) string {
	if len(cpus) == 0 {
		return "none"
	}
	var b []byte
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(cpus[i]), 10)
		if j > i {
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(cpus[j]), 10)
		}
		i = j + 1
	}
	return string(b)
}
