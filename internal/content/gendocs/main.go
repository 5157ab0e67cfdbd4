package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/controlmap/controlmap/internal/content"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run() error {
	c, err := content.Load()
	if err != nil {
		return err
	}
	g, err := c.Graph(1)
	if err != nil {
		return err
	}
	docs, err := content.CrosswalkDocs(c, g)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(content.DocsDir); err != nil {
		return err
	}
	if err := os.MkdirAll(content.DocsDir, 0o755); err != nil {
		return err
	}
	for name, data := range docs {
		if err := os.WriteFile(filepath.Join(content.DocsDir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
