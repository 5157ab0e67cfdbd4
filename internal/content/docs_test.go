package content_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/controlmap/controlmap/internal/content"
)

// The committed crosswalk documents must be what the data generates.
func TestCrosswalkDocsUpToDate(t *testing.T) {
	c, g, err := content.LoadGraph()
	if err != nil {
		t.Fatal(err)
	}
	docs, err := content.CrosswalkDocs(c, g)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, _ := filepath.Glob(filepath.Join(content.DocsDir, "*.md"))
	if len(onDisk) != len(docs) || len(docs) != 3 {
		t.Fatalf("%d documents on disk, %d generated: run go generate ./internal/content/...", len(onDisk), len(docs))
	}
	for name, want := range docs {
		got, err := os.ReadFile(filepath.Join(content.DocsDir, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is stale: run go generate ./internal/content/...", name)
		}
	}
}
