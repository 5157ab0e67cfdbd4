package memory_test

import (
	"testing"

	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/store/memory"
	"github.com/controlmap/controlmap/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	c, err := content.Load()
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		g, err := c.Graph(1)
		if err != nil {
			t.Fatal(err)
		}
		return memory.New(g)
	})
}
