package gateway

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// FuzzJSONRequest holds what the facade does with any request body: it is
// refused, or it decodes to a message that writes back to JSON and reads
// again as the same message.
func FuzzJSONRequest(f *testing.F) {
	for _, s := range []string{
		`{"source":"frameworks/iso-27001-2022/controls/A.8.7","target":"frameworks/nist-ai-rmf-1.0/controls/MS-2.7","relationship":"RELATIONSHIP_INTERSECTS_WITH","strength":3,"reverseStrength":2,"rationale":"RATIONALE_FUNCTIONAL","justification":"x","provenance":{"status":"MAPPING_STATUS_APPROVED"}}`,
		`{"strength":"3"}`, `{"relationship":2}`, `{"relationshp":"x"}`, `{"provenance":{"createTime":"2026-01-01T00:00:00Z"}}`,
		`{"strength":1e99}`, `[]`, `{"source":"\ud800"}`, `{"source":null}`, `{`,
	} {
		f.Add([]byte(s))
	}
	m := newMarshaler()
	f.Fuzz(func(t *testing.T, body []byte) {
		var in cmv1.Mapping
		if err := m.NewDecoder(bytes.NewReader(body)).Decode(&in); err != nil {
			return
		}
		out, err := m.Marshal(&in)
		if err != nil {
			t.Fatalf("%q decoded but does not encode: %v", body, err)
		}
		var again cmv1.Mapping
		if err := m.Unmarshal(out, &again); err != nil || !proto.Equal(&in, &again) {
			t.Fatalf("%q does not round-trip: %s (%v)", body, out, err)
		}
	})
}
