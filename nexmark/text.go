package nexmark

import (
	"math/bits"
	"millrace/wyrand"
	"strconv"
)

// The small vocabularies of the reference generator. States and categories are few so that
// queries filtering on them find rows even in short runs.
var (
	hotChannels = [...]string{"Google", "Facebook", "Baidu", "Apple"}
	firstNames  = [...]string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames   = [...]string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	usCities    = [...]string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	usStates    = [...]string{"AZ", "CA", "ID", "OR", "WA", "WY"}
)

const (
	// channels is the number of channels besides the hot ones; a bid comes through a hot
	// channel with probability 1-1/hotChannelsRatio, else through a uniform one of these.
	channels         = 10_000
	hotChannelsRatio = 2
	// maxURLLen bounds a URL: prefix, three path segments of at most 4 bytes and their
	// slashes, the item path, and a channel id of at most 10 digits. urlSlot is the room
	// a channel's URL has in the tables; nameSlot the room for its name.
	maxURLLen = len(urlPrefix) + 3*5 + len(urlItem) + len(urlChannel) + 10
	urlSlot   = 80
	nameSlot  = 16
	// wordPoolLen is the length of the random text item names, descriptions and email
	// addresses are cut from; it must exceed the longest cut.
	wordPoolLen = 64 << 10
	// minStringLen is the shortest random string before trimming, as in the reference.
	minStringLen = 3
)

const (
	urlPrefix  = "https://www.nexmark.com/"
	urlItem    = "item.htm?query=1"
	urlChannel = "&channel_id="
)

// strs is a list of strings stored back to back: string i is data[off[i]:off[i+1]].
type strs struct {
	off  []int32
	data []byte
}

func (s *strs) add(b []byte) {
	if s.off == nil {
		s.off = append(s.off, 0)
	}
	s.data = append(s.data, b...)
	s.off = append(s.off, int32(len(s.data)))
}

func (s *strs) get(i int) []byte { return s.data[s.off[i]:s.off[i+1]] }

// tables are the pre-built strings events are assembled from, a function of the seed and
// the sizes of `extra` only. They are built once per generator (or once per Source, shared
// by its partitions) and only read afterwards.
type tables struct {
	// chans holds the 4 hot channels then the `channels` others, by channel index, and
	// chanLens their lengths: apart, so that the lengths, on which the position of every
	// next string depends, stay in the nearest cache while the text is fetched alongside.
	chans    []chanText
	chanLens []chanLen
	// words is random lowercase text with a space at about every 13th byte, as the
	// reference's random strings; letters is lowercase letters only, for `extra`.
	words, letters []byte
	// names holds every "first last" name, first-name major.
	names strs
	// cities and states hold the vocabularies above.
	cities, states strs
}

// chanText is a channel's name and URL, each in a fixed-size slot that bids copy whole.
type chanText struct {
	name [nameSlot]byte
	url  [urlSlot]byte
}

// chanLen holds the lengths of a channel's name and URL.
type chanLen struct{ name, url uint8 }

// newTables builds the tables of cfg.
func newTables(cfg *Config) *tables {
	r := rng{wyrand.Source{State: streamKey(cfg.Seed, purposeTables)}}
	t := &tables{}
	var buf []byte
	t.chans = make([]chanText, len(hotChannels)+channels)
	t.chanLens = make([]chanLen, len(t.chans))
	for i := range t.chans {
		c, l := &t.chans[i], &t.chanLens[i]
		if i < len(hotChannels) {
			buf = append(buf[:0], hotChannels[i]...)
		} else {
			buf = strconv.AppendInt(append(buf[:0], "channel-"...), int64(i-len(hotChannels)), 10)
		}
		l.name = uint8(copy(c.name[:], buf))
		buf = appendBaseURL(buf[:0], &r)
		// Most channels' URLs name the channel, by its number with its bits reversed.
		if i >= len(hotChannels) && r.intn(10) > 0 {
			buf = append(buf, urlChannel...)
			buf = strconv.AppendUint(buf, uint64(bits.Reverse32(uint32(i-len(hotChannels)))), 10)
		}
		l.url = uint8(copy(c.url[:], buf))
	}
	t.words = make([]byte, wordPoolLen)
	for i := range t.words {
		if r.intn(13) == 0 {
			t.words[i] = ' '
		} else {
			t.words[i] = byte('a' + r.intn(26))
		}
	}
	t.letters = make([]byte, max(4<<10, 2*maxExtra(max(cfg.AvgBidBytes, cfg.AvgAuctionBytes, cfg.AvgPersonBytes))))
	for i := range t.letters {
		t.letters[i] = byte('a' + r.intn(26))
	}
	for _, f := range firstNames {
		for _, l := range lastNames {
			t.names.add([]byte(f + " " + l))
		}
	}
	for _, c := range usCities {
		t.cities.add([]byte(c))
	}
	for _, s := range usStates {
		t.states.add([]byte(s))
	}
	return t
}

// appendBaseURL appends a URL with three random path segments of 3 or 4 characters
// (letters, or '_' one time in 13).
func appendBaseURL(b []byte, r *rng) []byte {
	b = append(b, urlPrefix...)
	for range 3 {
		for range minStringLen + r.intn(2) {
			if r.intn(13) == 0 {
				b = append(b, '_')
			} else {
				b = append(b, byte('a'+r.intn(26)))
			}
		}
		b = append(b, '/')
	}
	return append(b, urlItem...)
}

// text draws a random string as the reference's nextString(maxLen) does: 3 to maxLen-1
// characters of words with spaces, trimmed of leading and trailing spaces. It is a slice
// of the pool, not a copy.
func (t *tables) text(r *rng, maxLen int64) []byte {
	n := minStringLen + r.intn(maxLen-minStringLen)
	at := r.intn(int64(len(t.words)) - n)
	s := t.words[at : at+n]
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// extra draws the padding of an event whose other fields count size bytes, so that events
// average avg bytes, as the reference's nextExtra: avg-size bytes give or take a fifth. It
// draws nothing and returns nil when avg is zero or size already reaches it, so the other
// fields of an event do not depend on whether `extra` is on.
func (t *tables) extra(r *rng, size, avg int) []byte {
	if avg <= size {
		return nil
	}
	want := int64(avg - size)
	delta := (want*2 + 5) / 10 // round(want/5)
	n := want - delta
	if delta > 0 {
		n += r.intn(2 * delta)
	}
	at := r.intn(int64(len(t.letters)) - n + 1)
	return t.letters[at : at+n]
}

// maxExtra is the longest padding extra returns for avg.
func maxExtra(avg int) int { return avg + (avg*2+5)/10 }
