package service

import (
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
)

// Page sizes: the default when a request leaves page_size at 0, and the
// maximum a larger request is clamped to.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// pageToken is the decoded form of an opaque page token. After is the key
// of the last item served; Next is the position of the following item when
// the token was made, used if that key has since disappeared. Query is a
// digest of the filters, so a token cannot be replayed with other ones.
type pageToken struct {
	After string `json:"a"`
	Next  int    `json:"n"`
	Query uint64 `json:"q"`
}

// page is where a list request starts and how many items it takes.
type page struct {
	start, size int
	query       uint64
}

// queryDigest identifies a list query by its filters.
func queryDigest(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// readPage validates page_size and page_token. locate finds the position
// of a key among the current items.
func readPage(pageSize int32, token string, defaultSize int, query uint64, locate func(key string) (int, bool)) (page, error) {
	p := page{size: defaultSize, query: query}
	switch {
	case pageSize < 0:
		return p, invalid("page_size", "must not be negative, got %d", pageSize)
	case pageSize > maxPageSize:
		p.size = maxPageSize
	case pageSize > 0:
		p.size = int(pageSize)
	}
	if token == "" {
		return p, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	var t pageToken
	if err == nil {
		err = json.Unmarshal(raw, &t)
	}
	if err != nil || t.Next < 0 {
		return p, invalid("page_token", "is not a token this service issued")
	}
	if t.Query != query {
		return p, invalid("page_token", "was issued for a query with other filters; send the same filters with every page")
	}
	p.start = t.Next
	if i, ok := locate(t.After); ok {
		p.start = i + 1
	}
	return p, nil
}

// window returns the bounds of the page within n items and the token of
// the next page ("" on the last one). key names the item at a position.
func (p page) window(n int, key func(i int) string) (lo, hi int, next string) {
	lo = min(p.start, n)
	hi = min(lo+p.size, n)
	if hi < n {
		raw, _ := json.Marshal(pageToken{After: key(hi - 1), Next: hi, Query: p.query})
		next = base64.RawURLEncoding.EncodeToString(raw)
	}
	return lo, hi, next
}
