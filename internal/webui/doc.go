// Package webui serves the crosswalk explorer: plain HTML, CSS and
// JavaScript modules embedded in the binary, which call the REST API of the
// same origin (no second backend, nothing fetched from elsewhere) under a
// Content-Security-Policy that allows no inline script.
package webui
