package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/yolops/yolops/internal/gemmbench"
)

// The flag values below check their input in Set, so that a bad value is
// reported by pflag as `invalid argument "0" for "-t, --threads" flag: ...`,
// naming both the flag and the value, before any work starts.

// threadsValue is a comma-separated list of thread counts.
type threadsValue struct{ p *[]int }

func (v threadsValue) String() string {
	if v.p == nil {
		return ""
	}
	s := make([]string, len(*v.p))
	for i, n := range *v.p {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (v threadsValue) Set(s string) error {
	ts, err := gemmbench.ParseThreads(s)
	if err != nil {
		return err
	}
	*v.p = ts
	return nil
}

func (threadsValue) Type() string { return "ints" }

// checkedInt is an int that check must accept.
type checkedInt struct {
	p     *int
	check func(int) error
}

func (v checkedInt) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

func (v checkedInt) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errNotWhole(s)
	}
	if err := v.check(n); err != nil {
		return err
	}
	*v.p = n
	return nil
}

func (checkedInt) Type() string { return "int" }

type errNotWhole string

func (e errNotWhole) Error() string { return strconv.Quote(string(e)) + " is not a whole number" }

// checkedDuration is a time.Duration that check must accept.
type checkedDuration struct {
	p     *time.Duration
	check func(time.Duration) error
}

func (v checkedDuration) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v checkedDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if err := v.check(d); err != nil {
		return err
	}
	*v.p = d
	return nil
}

func (checkedDuration) Type() string { return "duration" }
