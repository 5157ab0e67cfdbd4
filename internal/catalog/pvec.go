package catalog

// pvec is a persistent vector: a trie of 32-way nodes whose leaves hold the
// values. Set and Append return a new vector and copy only the path to the
// changed leaf (a few hundred bytes), so a Graph at the next revision shares
// almost everything with the one before and a write costs what it changes.
// The zero value is empty.
type pvec[T any] struct {
	root  *pnode[T]
	shift uint // depth of the trie times pbits
	n     int
}

type pnode[T any] struct {
	kids []*pnode[T]
	vals []T
}

const (
	pbits  = 5
	pwidth = 1 << pbits
	pmask  = pwidth - 1
)

// pvecOf builds a vector over vals without copying them: the leaves are
// windows of vals, which the caller must not change afterwards.
func pvecOf[T any](vals []T) pvec[T] {
	if len(vals) == 0 {
		return pvec[T]{}
	}
	level := make([]*pnode[T], 0, (len(vals)+pmask)/pwidth)
	for i := 0; i < len(vals); i += pwidth {
		end := min(i+pwidth, len(vals))
		level = append(level, &pnode[T]{vals: vals[i:end:end]})
	}
	shift := uint(0)
	for len(level) > 1 {
		up := make([]*pnode[T], 0, (len(level)+pmask)/pwidth)
		for i := 0; i < len(level); i += pwidth {
			end := min(i+pwidth, len(level))
			up = append(up, &pnode[T]{kids: level[i:end:end]})
		}
		level, shift = up, shift+pbits
	}
	return pvec[T]{root: level[0], shift: shift, n: len(vals)}
}

// Len is the number of values.
func (v pvec[T]) Len() int { return v.n }

// At returns the value at i, which must be in range. The value belongs to
// the vector: callers read it and never change it.
func (v pvec[T]) At(i int) *T {
	node := v.root
	for s := v.shift; s > 0; s -= pbits {
		node = node.kids[(i>>s)&pmask]
	}
	return &node.vals[i&pmask]
}

// Set returns a vector with x at i, which must be in range.
func (v pvec[T]) Set(i int, x T) pvec[T] {
	v.root = v.root.set(v.shift, i, x)
	return v
}

func (n *pnode[T]) set(shift uint, i int, x T) *pnode[T] {
	c := &pnode[T]{}
	if shift == 0 {
		c.vals = append([]T(nil), n.vals...)
		c.vals[i&pmask] = x
		return c
	}
	c.kids = append([]*pnode[T](nil), n.kids...)
	k := (i >> shift) & pmask
	c.kids[k] = c.kids[k].set(shift-pbits, i, x)
	return c
}

// Append returns a vector with x added at the end.
func (v pvec[T]) Append(x T) pvec[T] {
	if v.root == nil {
		return pvec[T]{root: &pnode[T]{vals: []T{x}}, n: 1}
	}
	if v.n == pwidth<<v.shift { // full: grow a level
		v.root = &pnode[T]{kids: []*pnode[T]{v.root}}
		v.shift += pbits
	}
	v.root = v.root.push(v.shift, v.n, x)
	v.n++
	return v
}

func (n *pnode[T]) push(shift uint, i int, x T) *pnode[T] {
	c := &pnode[T]{}
	if shift == 0 {
		c.vals = make([]T, len(n.vals), len(n.vals)+1)
		copy(c.vals, n.vals)
		c.vals = append(c.vals, x)
		return c
	}
	c.kids = make([]*pnode[T], len(n.kids), len(n.kids)+1)
	copy(c.kids, n.kids)
	k := (i >> shift) & pmask
	if k == len(c.kids) {
		c.kids = append(c.kids, (&pnode[T]{}).grow(shift-pbits, i, x))
	} else {
		c.kids[k] = c.kids[k].push(shift-pbits, i, x)
	}
	return c
}

// grow builds the path down to a new leaf holding x.
func (n *pnode[T]) grow(shift uint, i int, x T) *pnode[T] {
	if shift == 0 {
		n.vals = []T{x}
		return n
	}
	n.kids = []*pnode[T]{(&pnode[T]{}).grow(shift-pbits, i, x)}
	return n
}
