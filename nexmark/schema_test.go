package nexmark

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/schema"
)

func TestSchemasMatchTheBenchmark(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		sch  *arrow.Schema
		cols string
	}{
		{Bids, Bid(), "auction bidder price channel url date_time extra"},
		{Auctions, Auction(), "id item_name description initial_bid reserve date_time expires seller category extra"},
		{Persons, Person(), "id name email_address credit_card city state date_time extra"},
	} {
		if Schema(tc.kind) != tc.sch {
			t.Errorf("Schema(%s) is not %s's schema", tc.kind, tc.kind)
		}
		var names string
		for i, f := range tc.sch.Fields() {
			if i > 0 {
				names += " "
			}
			names += f.Name
			if f.Nullable {
				t.Errorf("%s.%s is nullable", tc.kind, f.Name)
			}
			switch {
			case f.Name == "date_time" || f.Name == "expires":
				if !arrow.TypeEqual(f.Type, schema.Timestamp) {
					t.Errorf("%s.%s is %s", tc.kind, f.Name, f.Type)
				}
			case f.Type.ID() != arrow.INT64 && f.Type.ID() != arrow.STRING:
				t.Errorf("%s.%s is %s", tc.kind, f.Name, f.Type)
			}
		}
		if names != tc.cols {
			t.Errorf("%s columns %q, want %q", tc.kind, names, tc.cols)
		}
		if c := DateTimeColumn(tc.kind); tc.sch.Field(c).Name != "date_time" {
			t.Errorf("DateTimeColumn(%s) = %d, which is %q", tc.kind, c, tc.sch.Field(c).Name)
		}
	}
	if Schema(Kind(7)) != nil || DateTimeColumn(Kind(7)) != -1 {
		t.Error("an unknown kind has a schema")
	}
	if Bid().Field(BidPrice).Name != "price" || Auction().Field(AuctionSeller).Name != "seller" || Person().Field(PersonState).Name != "state" {
		t.Error("column constants do not match the schemas")
	}
}
