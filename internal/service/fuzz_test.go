package service

import (
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// field is the field a BadRequest error names, "" for any other error.
func field(err error) string {
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		return ""
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.FieldViolations) > 0 {
			return br.FieldViolations[0].Field
		}
	}
	return ""
}

// FuzzPageToken holds what a page token does: anything a client sends is
// either refused naming page_token or page_size, or gives a page within
// bounds.
func FuzzPageToken(f *testing.F) {
	keys := []string{"a", "b", "c", "d"}
	locate := func(key string) (int, bool) { return slices.BinarySearch(keys, key) }
	q := queryDigest("fuzz")
	_, _, next := page{size: 2, query: q}.window(len(keys), func(i int) string { return keys[i] })
	for _, tok := range []string{"", next, "eyJhIjoiYiIsIm4iOjIsInEiOjF9", "!!!", "e30", "eyJuIjotMX0"} {
		f.Add(int32(2), tok)
	}
	f.Add(int32(-1), "")
	f.Add(int32(5000), next)
	f.Fuzz(func(t *testing.T, size int32, token string) {
		p, err := readPage(size, token, defaultPageSize, q, locate)
		if err != nil {
			if fl := field(err); fl != "page_token" && fl != "page_size" {
				t.Fatalf("size %d token %q: %v names %q", size, token, err, fl)
			}
			return
		}
		if p.size < 1 || p.size > maxPageSize || p.start < 0 {
			t.Fatalf("size %d token %q: page %+v", size, token, p)
		}
		lo, hi, _ := p.window(len(keys), func(i int) string { return keys[i] })
		if lo < 0 || lo > hi || hi > len(keys) {
			t.Fatalf("window %d-%d of %d", lo, hi, len(keys))
		}
	})
}

// FuzzUpdateMask holds what an update mask does: it is refused naming
// update_mask, or it selects only fields an update may set.
func FuzzUpdateMask(f *testing.F) {
	for _, m := range []string{"justification", "provenance.status", "provenance", "name", "etag", "revision", "provenanceStatus",
		"reverseStrength", "source", "", ".", "provenance.createTime"} {
		f.Add(m, "strength")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		paths, err := maskPaths([]string{a, b}, mutablePaths, []string{"name", "etag"})
		if err != nil {
			if fl := field(err); fl != "update_mask" {
				t.Fatalf("mask %q %q: %v names %q", a, b, err, fl)
			}
			return
		}
		if len(paths) == 0 {
			t.Fatalf("mask %q %q selects nothing and was accepted", a, b)
		}
		for p := range paths {
			if !slices.Contains(mutablePaths, p) {
				t.Fatalf("mask %q %q selects %q", a, b, p)
			}
		}
	})
}
