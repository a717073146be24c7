package cluster

import (
	"bytes"
	"container/list"
	"sync"
)

// pieceCache keeps pieces of state objects in memory, by hash, up to a bound in bytes, the
// least recently used going first. A worker that is starting reads the newest committed
// state of the key groups into it before it joins the group (prewarm.go), and a restore
// takes the pieces it names from it instead of from the store: only the pieces written
// since are read. A piece is named by the hash of its bytes, so a piece of the cache is
// the piece any object names by that hash, whichever object it was read from; get checks
// its bytes against the hash all the same, and drops a piece that does not hold what its
// hash says. It is safe for concurrent use; a nil cache holds nothing.
type pieceCache struct {
	mu    sync.Mutex
	limit int64
	size  int64
	// order has the most recently used piece first; by finds a piece's element.
	order *list.List
	by    map[string]*list.Element
	stats cacheStats
}

// cachedPiece is a piece of the cache and its hash.
type cachedPiece struct {
	hash string
	b    []byte
}

// cacheStats count what the cache took in and what restores took from it.
type cacheStats struct {
	// put counts the pieces and bytes the cache took in.
	put, putBytes int64
	// hits count the pieces and bytes restores took from the cache, read those they read
	// from the store while the cache was there.
	hits, hitBytes, readBytes int64
	// bad counts the pieces dropped for holding other bytes than their hash says.
	bad int64
}

// newPieceCache returns a cache of at most limit bytes of pieces.
func newPieceCache(limit int64) *pieceCache {
	return &pieceCache{limit: limit, order: list.New(), by: map[string]*list.Element{}}
}

// put keeps a copy of piece b, whose hash is hash, making room by dropping the least
// recently used; a piece larger than the whole bound is not kept.
func (c *pieceCache) put(hash string, b []byte) {
	if c == nil || int64(len(b)) > c.limit {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.by[hash]; ok {
		c.order.MoveToFront(e)
		return
	}
	for c.size+int64(len(b)) > c.limit {
		c.drop(c.order.Back())
	}
	c.by[hash] = c.order.PushFront(&cachedPiece{hash: hash, b: bytes.Clone(b)})
	c.size += int64(len(b))
	c.stats.put++
	c.stats.putBytes += int64(len(b))
}

// get returns the piece named hash, if the cache holds it and its bytes hash to hash.
func (c *pieceCache) get(hash string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.by[hash]
	if ok {
		c.order.MoveToFront(e)
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	p := e.Value.(*cachedPiece)
	if pieceHash(p.b) != hash {
		c.mu.Lock()
		if c.by[hash] == e {
			c.drop(e)
		}
		c.stats.bad++
		c.mu.Unlock()
		return nil, false
	}
	c.mu.Lock()
	c.stats.hits++
	c.stats.hitBytes += int64(len(p.b))
	c.mu.Unlock()
	return p.b, true
}

// read counts n bytes a restore read from the store while the cache was there.
func (c *pieceCache) read(n int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.stats.readBytes += n
	c.mu.Unlock()
}

// drop removes e; c.mu is held.
func (c *pieceCache) drop(e *list.Element) {
	p := c.order.Remove(e).(*cachedPiece)
	delete(c.by, p.hash)
	c.size -= int64(len(p.b))
}

// full tells whether the cache holds as many bytes as its bound allows.
func (c *pieceCache) full() bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size >= c.limit
}

// empty tells whether the cache holds no piece.
func (c *pieceCache) empty() bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len() == 0
}

// clear drops every piece, keeping the counts.
func (c *pieceCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	c.by = map[string]*list.Element{}
	c.size = 0
}

// counts returns what the cache counted so far, and the bytes it holds.
func (c *pieceCache) counts() (cacheStats, int64) {
	if c == nil {
		return cacheStats{}, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats, c.size
}
