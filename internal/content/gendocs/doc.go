// Command gendocs writes the Markdown crosswalk documents of the built-in
// content into internal/content/docs. It is run by go generate; it reads only
// the embedded content and writes only that directory.
package main
