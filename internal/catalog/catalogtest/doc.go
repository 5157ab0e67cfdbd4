// Package catalogtest makes synthetic catalogs for tests and benchmarks of
// scale. It is for tests only: nothing in the service imports it.
package catalogtest
