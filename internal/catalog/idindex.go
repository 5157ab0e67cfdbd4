package catalog

import (
	"slices"
	"strings"
)

// idIndex is a persistent sorted map from mapping id to its slot: leaves of
// at most idLeafMax sorted entries under one spine. Insert and Delete copy
// the spine (a pointer per leaf) and one leaf, so they cost a few
// microseconds at a million ids; iteration is in id order.
type idIndex struct {
	leaves []*idLeaf
	n      int
}

type idLeaf struct {
	ids   []string
	slots []int32
}

const idLeafMax = 512

func idIndexOf(ids []string, slots []int32) idIndex {
	var x idIndex
	for i := 0; i < len(ids); i += idLeafMax / 2 {
		end := min(i+idLeafMax/2, len(ids))
		x.leaves = append(x.leaves, &idLeaf{ids: ids[i:end:end], slots: slots[i:end:end]})
	}
	x.n = len(ids)
	return x
}

// leafFor is the leaf where id is or would be inserted.
func (x idIndex) leafFor(id string) int {
	i, _ := slices.BinarySearchFunc(x.leaves, id, func(l *idLeaf, id string) int { return strings.Compare(l.ids[0], id) })
	if i > 0 && (i == len(x.leaves) || x.leaves[i].ids[0] != id) {
		i--
	}
	return i
}

// Get returns the slot of id.
func (x idIndex) Get(id string) (int32, bool) {
	if x.n == 0 {
		return 0, false
	}
	l := x.leaves[x.leafFor(id)]
	if j, ok := slices.BinarySearch(l.ids, id); ok {
		return l.slots[j], true
	}
	return 0, false
}

// Insert returns the index with id at slot; id must be absent.
func (x idIndex) Insert(id string, slot int32) idIndex {
	if x.n == 0 {
		return idIndex{leaves: []*idLeaf{{ids: []string{id}, slots: []int32{slot}}}, n: 1}
	}
	li := x.leafFor(id)
	l := x.leaves[li]
	j, _ := slices.BinarySearch(l.ids, id)
	nl := &idLeaf{ids: slices.Insert(slices.Clone(l.ids), j, id), slots: slices.Insert(slices.Clone(l.slots), j, slot)}
	leaves := slices.Clone(x.leaves)
	if len(nl.ids) > idLeafMax {
		h := len(nl.ids) / 2
		a := &idLeaf{ids: nl.ids[:h:h], slots: nl.slots[:h:h]}
		b := &idLeaf{ids: nl.ids[h:], slots: nl.slots[h:]}
		leaves[li] = a
		leaves = slices.Insert(leaves, li+1, b)
	} else {
		leaves[li] = nl
	}
	return idIndex{leaves: leaves, n: x.n + 1}
}

// Delete returns the index without id; id must be present.
func (x idIndex) Delete(id string) idIndex {
	li := x.leafFor(id)
	l := x.leaves[li]
	j, ok := slices.BinarySearch(l.ids, id)
	if !ok {
		return x
	}
	leaves := slices.Clone(x.leaves)
	if len(l.ids) == 1 {
		leaves = slices.Delete(leaves, li, li+1)
	} else {
		leaves[li] = &idLeaf{ids: slices.Delete(slices.Clone(l.ids), j, j+1), slots: slices.Delete(slices.Clone(l.slots), j, j+1)}
	}
	return idIndex{leaves: leaves, n: x.n - 1}
}

// All yields the slots in id order.
func (x idIndex) All(yield func(int32) bool) {
	for _, l := range x.leaves {
		for _, s := range l.slots {
			if !yield(s) {
				return
			}
		}
	}
}
