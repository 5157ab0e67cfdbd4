// Package interchange reads and writes the file formats GRC tools exchange
// frameworks and crosswalks in: OSCAL 1.2 catalogs and mapping collections,
// NIST OLIR and STRM sheets as CSV, CISO Assistant library YAML, and the
// API's own JSON of a crosswalk.
//
// Reading turns a file into a Document: frameworks with their controls and
// crosswalks whose rows name controls as the file spells them, with every
// problem found located in the file (a CSV or YAML line, a JSON pointer).
// Binding those names to the catalog, and writing, is the writes package's
// job. Writing turns catalog rows into a file, streamed to an io.Writer.
package interchange
