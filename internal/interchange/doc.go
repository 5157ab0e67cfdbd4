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
//
// JSON and CSV are read as streams: one value at a time is decoded (an
// OSCAL catalog's group with its controls, a collection's map, one mapping
// of our JSON, a CSV record) and read into rows before the next, so what is
// held is the rows read and the value at hand, never the whole document. A
// CISO Assistant library is parsed whole (YAML, as a tree of nodes) before
// its rows are read.
package interchange
