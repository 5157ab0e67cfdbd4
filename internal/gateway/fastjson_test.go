package gateway

import (
	"encoding/json"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// The hand-written encoding must say exactly what protojson says.
func TestSatisfiesJSONMatchesProtojson(t *testing.T) {
	for _, r := range []*cmv1.SatisfiesResponse{
		{},
		{Control: "frameworks/x/controls/A.1", Revision: 1 << 40},
		{Control: "frameworks/x/controls/q\"\\\n\t\x01é☃", Revision: 7, Frameworks: []*cmv1.FrameworkSatisfaction{
			{Framework: "frameworks/y"},
			{Framework: "frameworks/z", Controls: []*cmv1.SatisfiedControl{
				{Control: "frameworks/z/controls/1", Satisfaction: cmv1.Satisfaction_SATISFACTION_FULL, Relationship: cmv1.Relationship_RELATIONSHIP_EQUAL, Strength: 10, Path: []string{"mappings/a"}},
				{Control: "frameworks/z/controls/2", Satisfaction: cmv1.Satisfaction_SATISFACTION_PARTIAL, Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 3, Inferred: true, Path: []string{"mappings/a", "mappings/b\x7f"}},
				{},
			}},
		}},
	} {
		want, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got := appendSatisfies(nil, r)
		var w, g any
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("invalid JSON %s: %v", got, err)
		}
		if !reflect.DeepEqual(w, g) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}
