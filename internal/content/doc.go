// Package content holds the built-in frameworks and crosswalks as embedded
// YAML data files and loads them into catalog values, checking every rule
// with a message that names the file and line at fault.
//
// Data files (data/):
//
//	frameworks/{id}.yaml          one framework and its controls in document order
//	crosswalks/{source}_{target}.yaml  mappings from one framework to another
//
// The package only reads its own data; it never talks to a store. ISO text is
// copyrighted: the files carry ids, official short titles and summaries in
// our own words, never normative text.
package content

//go:generate go run ./gendocs
