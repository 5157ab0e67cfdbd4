// Package catalog holds the domain of controlmap: frameworks, controls,
// mappings, the relationship algebra (inverse, strength ranges, composition), resource names and
// aliases, and Graph, the immutable indexed snapshot every read is served
// from.
//
// A Graph is built once and never changed: writers build a new one and
// publish it, readers keep the one they started with. The package does no
// I/O and knows nothing of stores, transports or the built-in content.
package catalog
