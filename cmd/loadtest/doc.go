// Command loadtest is the load driver of the benchmarks in the README; see
// main.go for what it measures. It only talks to loopback or the addresses
// it is given.
package main
