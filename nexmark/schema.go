package nexmark

import (
	"github.com/apache/arrow-go/v18/arrow"

	"millrace/schema"
)

// Column positions in the Bid schema.
const (
	BidAuction = iota
	BidBidder
	BidPrice
	BidChannel
	BidURL
	BidDateTime
	BidExtra
)

// Column positions in the Auction schema.
const (
	AuctionID = iota
	AuctionItemName
	AuctionDescription
	AuctionInitialBid
	AuctionReserve
	AuctionDateTime
	AuctionExpires
	AuctionSeller
	AuctionCategory
	AuctionExtra
)

// Column positions in the Person schema.
const (
	PersonID = iota
	PersonName
	PersonEmail
	PersonCreditCard
	PersonCity
	PersonState
	PersonDateTime
	PersonExtra
)

// The schemas are built once and never changed.
var (
	bidSchema = arrow.NewSchema([]arrow.Field{
		BidAuction:  {Name: "auction", Type: arrow.PrimitiveTypes.Int64},
		BidBidder:   {Name: "bidder", Type: arrow.PrimitiveTypes.Int64},
		BidPrice:    {Name: "price", Type: arrow.PrimitiveTypes.Int64},
		BidChannel:  {Name: "channel", Type: arrow.BinaryTypes.String},
		BidURL:      {Name: "url", Type: arrow.BinaryTypes.String},
		BidDateTime: {Name: "date_time", Type: schema.Timestamp},
		BidExtra:    {Name: "extra", Type: arrow.BinaryTypes.String},
	}, nil)
	auctionSchema = arrow.NewSchema([]arrow.Field{
		AuctionID:          {Name: "id", Type: arrow.PrimitiveTypes.Int64},
		AuctionItemName:    {Name: "item_name", Type: arrow.BinaryTypes.String},
		AuctionDescription: {Name: "description", Type: arrow.BinaryTypes.String},
		AuctionInitialBid:  {Name: "initial_bid", Type: arrow.PrimitiveTypes.Int64},
		AuctionReserve:     {Name: "reserve", Type: arrow.PrimitiveTypes.Int64},
		AuctionDateTime:    {Name: "date_time", Type: schema.Timestamp},
		AuctionExpires:     {Name: "expires", Type: schema.Timestamp},
		AuctionSeller:      {Name: "seller", Type: arrow.PrimitiveTypes.Int64},
		AuctionCategory:    {Name: "category", Type: arrow.PrimitiveTypes.Int64},
		AuctionExtra:       {Name: "extra", Type: arrow.BinaryTypes.String},
	}, nil)
	personSchema = arrow.NewSchema([]arrow.Field{
		PersonID:         {Name: "id", Type: arrow.PrimitiveTypes.Int64},
		PersonName:       {Name: "name", Type: arrow.BinaryTypes.String},
		PersonEmail:      {Name: "email_address", Type: arrow.BinaryTypes.String},
		PersonCreditCard: {Name: "credit_card", Type: arrow.BinaryTypes.String},
		PersonCity:       {Name: "city", Type: arrow.BinaryTypes.String},
		PersonState:      {Name: "state", Type: arrow.BinaryTypes.String},
		PersonDateTime:   {Name: "date_time", Type: schema.Timestamp},
		PersonExtra:      {Name: "extra", Type: arrow.BinaryTypes.String},
	}, nil)
)

// Bid returns the schema of bids: the auction bid on and the bidder (ids), the price in
// cents, the channel and URL the bid came through, its event time (milliseconds, UTC) and
// padding. No column is nullable.
func Bid() *arrow.Schema { return bidSchema }

// Auction returns the schema of auctions: id, item name and description, initial bid and
// reserve price in cents, event time and expiry time (milliseconds, UTC), the seller (a
// person id), the category and padding. No column is nullable.
func Auction() *arrow.Schema { return auctionSchema }

// Person returns the schema of people: id, name, email address, credit card number, city
// and US state, event time (milliseconds, UTC) and padding. No column is nullable.
func Person() *arrow.Schema { return personSchema }

// Schema returns the schema of kind's events, or nil for an unknown kind.
func Schema(kind Kind) *arrow.Schema {
	switch kind {
	case Bids:
		return bidSchema
	case Auctions:
		return auctionSchema
	case Persons:
		return personSchema
	}
	return nil
}

// DateTimeColumn is the index of the event-time column `date_time` in kind's schema, or -1 for
// an unknown kind.
func DateTimeColumn(kind Kind) int {
	switch kind {
	case Bids:
		return BidDateTime
	case Auctions:
		return AuctionDateTime
	case Persons:
		return PersonDateTime
	}
	return -1
}
